using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Members.Queries.ListMembers;

[RequiresPermission(Permission.MembersRead)]
public sealed record ListMembers : IQuery<Result<MemberList>>, IOrgScopedRequest;

public sealed record MemberList(IReadOnlyList<MemberDto> Items);

public sealed class ListMembersHandler(ICatalogDbContext db, ITenantContext tenant) : IQueryHandler<ListMembers, Result<MemberList>>
{
    public async ValueTask<Result<MemberList>> Handle(ListMembers query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var rows = await db.Memberships.AsNoTracking()
            .Where(m => m.OrganizationId == organizationId)
            .OrderBy(m => m.User!.Email)
            .Select(m => new { m.UserId, m.User!.Email, m.User.Name, m.Role, m.CreatedAt })
            .ToListAsync(cancellationToken);
        return new MemberList([.. rows.Select(r => new MemberDto(r.UserId, r.Email, r.Name, MemberRoles.Name(r.Role), r.CreatedAt))]);
    }
}
