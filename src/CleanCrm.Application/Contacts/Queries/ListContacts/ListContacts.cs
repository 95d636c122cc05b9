using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Contacts.Queries.ListContacts;

/// <summary>Keyset-paginated list with full-text <c>q</c> and field filters.</summary>
[RequiresPermission(Permission.CrmRead)]
public sealed record ListContacts(
    int? Limit = null,
    string? Cursor = null,
    string? Sort = null,
    string? Q = null,
    Guid? OwnerId = null,
    Guid? CompanyId = null,
    string? Email = null,
    string? Source = null,
    DateTimeOffset? CreatedAfter = null,
    DateTimeOffset? CreatedBefore = null) : IQuery<Result<Page<ContactDto>>>, IOrgScopedRequest, IListQuery;

public sealed class ListContactsValidator() : ListQueryValidator<ListContacts, Contact>(ListContactsHandler.Sorts);

public sealed class ListContactsHandler(ITenantDbContext db) : IQueryHandler<ListContacts, Result<Page<ContactDto>>>
{
    public static readonly SortKeys<Contact> Sorts = new(
        "createdAt",
        SortKey<Contact>.Text("lastName", c => c.LastName ?? string.Empty),
        SortKey<Contact>.Text("email", c => c.Email ?? string.Empty),
        SortKey<Contact>.Time("createdAt", c => c.CreatedAt),
        SortKey<Contact>.Time("updatedAt", c => c.UpdatedAt));

    public async ValueTask<Result<Page<ContactDto>>> Handle(ListContacts query, CancellationToken cancellationToken)
    {
        var contacts = (string.IsNullOrWhiteSpace(query.Q) ? db.Contacts.Where(c => c.DeletedAt == null) : db.ContactsMatching(query.Q))
            .WhereIf(query.OwnerId, ownerId => c => c.OwnerId == ownerId)
            .WhereIf(query.CompanyId, companyId => c => c.CompanyId == companyId)
            .WhereIf(query.Email?.Trim().ToLowerInvariant(), email => c => c.Email == email)
            .WhereIf(query.Source, source => c => c.Source == source)
            .CreatedBetween(query.CreatedAfter, query.CreatedBefore);
        return await Sorts.PageAsync(contacts, query, ContactDto.From, cancellationToken);
    }
}
