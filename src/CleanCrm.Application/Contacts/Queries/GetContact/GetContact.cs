using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Contacts.Queries.GetContact;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetContact(Guid Id) : IQuery<Result<ContactDto>>, IOrgScopedRequest;

public sealed class GetContactHandler(ITenantDbContext db) : IQueryHandler<GetContact, Result<ContactDto>>
{
    public async ValueTask<Result<ContactDto>> Handle(GetContact query, CancellationToken cancellationToken)
    {
        var contact = await db.Contacts.AsNoTracking().FirstOrDefaultAsync(c => c.Id == query.Id && c.DeletedAt == null, cancellationToken);
        return contact is null ? ContactErrors.NotFound(query.Id) : ContactDto.From(contact);
    }
}
