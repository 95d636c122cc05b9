using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

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
    DateTimeOffset? CreatedBefore = null) : IQuery<Result<Page<ContactDto>>>, IOrgScopedRequest;

public sealed class ListContactsValidator : AbstractValidator<ListContacts>
{
    public ListContactsValidator()
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Sort)
            .Must(sort => SortOrder.TryParse(sort, ListContactsHandler.SortKeys.Keys, "createdAt", out _))
            .WithMessage($"must be one of {string.Join(", ", ListContactsHandler.SortKeys.Keys)} (prefix '-' for descending).");
        RuleFor(x => x.Cursor)
            .Must((query, cursor) => !SortOrder.TryParse(query.Sort, ListContactsHandler.SortKeys.Keys, "createdAt", out var order)
                                     || Common.Paging.Cursor.TryDecode(cursor, order.Text, out _))
            .WithMessage("is not a cursor returned by this list with the same sort.");
        RuleFor(x => x.Q).MaximumLength(200).WithMessage("must be at most 200 characters.");
    }
}

public sealed class ListContactsHandler(ITenantDbContext db) : IQueryHandler<ListContacts, Result<Page<ContactDto>>>
{
    public static readonly IReadOnlyDictionary<string, SortKey<Contact>> SortKeys = new Dictionary<string, SortKey<Contact>>
    {
        ["lastName"] = SortKey<Contact>.Text("lastName", c => c.LastName ?? string.Empty),
        ["email"] = SortKey<Contact>.Text("email", c => c.Email ?? string.Empty),
        ["createdAt"] = SortKey<Contact>.Time("createdAt", c => c.CreatedAt),
        ["updatedAt"] = SortKey<Contact>.Time("updatedAt", c => c.UpdatedAt),
    };

    public async ValueTask<Result<Page<ContactDto>>> Handle(ListContacts query, CancellationToken cancellationToken)
    {
        SortOrder.TryParse(query.Sort, SortKeys.Keys, "createdAt", out var order);
        Cursor.TryDecode(query.Cursor, order.Text, out var after);
        var limit = query.Limit ?? Cursor.DefaultLimit;

        var contacts = string.IsNullOrWhiteSpace(query.Q) ? db.Contacts.Where(c => c.DeletedAt == null) : db.ContactsMatching(query.Q);
        if (query.OwnerId is { } ownerId)
        {
            contacts = contacts.Where(c => c.OwnerId == ownerId);
        }

        if (query.CompanyId is { } companyId)
        {
            contacts = contacts.Where(c => c.CompanyId == companyId);
        }

        if (query.Email is { } email)
        {
            var normalized = email.Trim().ToLowerInvariant();
            contacts = contacts.Where(c => c.Email == normalized);
        }

        if (query.Source is { } source)
        {
            contacts = contacts.Where(c => c.Source == source);
        }

        if (query.CreatedAfter is { } createdAfter)
        {
            contacts = contacts.Where(c => c.CreatedAt >= createdAfter);
        }

        if (query.CreatedBefore is { } createdBefore)
        {
            contacts = contacts.Where(c => c.CreatedAt < createdBefore);
        }

        var key = SortKeys[order.Field];
        var rows = await Keyset.Seek(contacts.AsNoTracking(), key, order.Descending, after, c => c.Id)
            .Take(limit + 1)
            .ToListAsync(cancellationToken);
        return Keyset.ToPage(rows, limit, key, order.Text, c => c.Id, ContactDto.From);
    }
}
