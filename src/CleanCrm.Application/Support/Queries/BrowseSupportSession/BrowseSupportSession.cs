using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Common;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Support.Queries.BrowseSupportSession;

/// <summary>
/// One page of an organization's contacts, companies or deals through a support session: only for the admin who opened
/// it, only while it is active, and only reading (the tenant transaction is READ ONLY).
/// </summary>
[RequiresPlatformAdmin]
public sealed record BrowseSupportSession(Guid SessionId, string Resource, string? Q = null, string? Cursor = null, int? Limit = null)
    : IQuery<Result<Page<SupportRecordDto>>>;

public sealed class BrowseSupportSessionValidator : AbstractValidator<BrowseSupportSession>
{
    public BrowseSupportSessionValidator()
    {
        RuleFor(x => x.Resource).Must(r => BrowseSupportSessionHandler.Resources.Contains(r))
            .WithMessage($"must be one of {string.Join(", ", BrowseSupportSessionHandler.Resources)}.");
        RuleFor(x => x.Q).MaximumLength(200).WithMessage("must be at most 200 characters.");
        RuleFor(x => x.Limit).InclusiveBetween(1, Common.Paging.Cursor.MaxLimit)
            .WithMessage($"must be between 1 and {Common.Paging.Cursor.MaxLimit}.");
        RuleFor(x => x.Cursor).Must((q, c) => Common.Paging.Cursor.TryDecode(c, BrowseSupportSessionHandler.SortOf(q.Resource), out _))
            .WithMessage("is not a cursor returned by this list.");
    }
}

public sealed class BrowseSupportSessionHandler(ICatalogDbContext db, ITenantDatabaseAccess tenants, ICallerContext caller, TimeProvider clock)
    : IQueryHandler<BrowseSupportSession, Result<Page<SupportRecordDto>>>
{
    internal static readonly string[] Resources = ["contacts", "companies", "deals"];

    internal static string SortOf(string resource) => $"{resource}:-createdAt";

    public async ValueTask<Result<Page<SupportRecordDto>>> Handle(BrowseSupportSession query, CancellationToken cancellationToken)
    {
        var session = await db.SupportSessions.AsNoTracking().FirstOrDefaultAsync(s => s.Id == query.SessionId, cancellationToken);
        if (session is null)
        {
            return Error.NotFound("Support session", query.SessionId);
        }

        if (session.AdminUserId != caller.UserId)
        {
            return Error.Forbidden(ErrorCodes.Forbidden, "Only the platform admin who opened this support session may browse through it.");
        }

        // Checked on every page, not when the session was opened: an expired or revoked session shows nothing more.
        if (!session.IsActiveAt(clock.GetUtcNow()))
        {
            return SupportErrors.Inactive(session);
        }

        var status = await db.Organizations.AsNoTracking().Where(o => o.Id == session.OrganizationId).Select(o => o.Status)
            .FirstAsync(cancellationToken);
        if (status is not (OrganizationStatus.Active or OrganizationStatus.Suspended))
        {
            return Error.Forbidden(SupportErrors.SessionInactive,
                $"The organization is {status.ToString().ToLowerInvariant()}; its data cannot be browsed.");
        }

        Common.Paging.Cursor.TryDecode(query.Cursor, SortOf(query.Resource), out var after);
        var limit = query.Limit ?? Common.Paging.Cursor.DefaultLimit;
        var q = string.IsNullOrWhiteSpace(query.Q) ? null : query.Q.Trim();
        var sort = SortOf(query.Resource);
        return await tenants.ReadAsync(session.OrganizationId, (tenant, ct) => query.Resource switch
        {
            "contacts" => PageAsync(q is null ? tenant.Contacts.Where(c => c.DeletedAt == null) : tenant.ContactsMatching(q),
                after, limit, sort, c => new SupportRecordDto(c.Id, ContactName(c), c.Email, c.CreatedAt, c.UpdatedAt), ct),
            "companies" => PageAsync(q is null ? tenant.Companies.Where(c => c.DeletedAt == null) : tenant.CompaniesMatching(q),
                after, limit, sort, c => new SupportRecordDto(c.Id, c.Name, c.Domain, c.CreatedAt, c.UpdatedAt), ct),
            _ => PageAsync(q is null ? tenant.Deals.Where(d => d.DeletedAt == null) : tenant.DealsMatching(q),
                after, limit, sort, d => new SupportRecordDto(d.Id, d.Name, DealDetail(d), d.CreatedAt, d.UpdatedAt), ct),
        }, cancellationToken);
    }

    private static async Task<Page<SupportRecordDto>> PageAsync<T>(IQueryable<T> rows, Cursor? after, int limit, string sort,
        Func<T, SupportRecordDto> map, CancellationToken cancellationToken)
        where T : TenantEntity
    {
        var key = SortKey<T>.Time("createdAt", r => r.CreatedAt);
        var page = await Keyset.Seek(rows.AsNoTracking(), key, descending: true, after, r => r.Id).Take(limit + 1)
            .ToListAsync(cancellationToken);
        return Keyset.ToPage(page, limit, key, sort, r => r.Id, map);
    }

    private static string ContactName(Contact c) =>
        string.Join(' ', new[] { c.FirstName, c.LastName }.Where(n => !string.IsNullOrWhiteSpace(n))) is { Length: > 0 } name
            ? name
            : c.Email ?? "(no name)";

    private static string DealDetail(Deal d) =>
        $"{d.Status.ToString().ToLowerInvariant()}{(d.Amount is { } amount ? $", {amount} {d.Currency}" : string.Empty)}";
}
