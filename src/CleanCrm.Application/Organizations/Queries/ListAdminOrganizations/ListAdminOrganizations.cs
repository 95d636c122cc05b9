using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Fleet;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Organizations.Queries.ListAdminOrganizations;

/// <summary>
/// The fleet's organizations for platform admins, filtered and sorted, one keyset page at a time
/// (<c>GET /api/v1/admin/organizations</c>, docs/API.md, "Platform administration"). Deleted organizations are listed only
/// when <see cref="Status"/> asks for them.
/// </summary>
[RequiresPlatformAdmin]
public sealed record ListAdminOrganizations(
    string? Status = null,
    string? Plan = null,
    Guid? ServerId = null,
    string? Q = null,
    bool? SchemaBehind = null,
    bool? FailedProvisioning = null,
    int? BackupOlderThanHours = null,
    string? Sort = null,
    string? Cursor = null,
    int? Limit = null) : IQuery<Result<Page<AdminOrganizationListItem>>>;

public sealed class ListAdminOrganizationsValidator : AbstractValidator<ListAdminOrganizations>
{
    public ListAdminOrganizationsValidator()
    {
        RuleFor(x => x.Status).Must(s => s is null || OrganizationStatusNames.TryParse(s, out _))
            .WithMessage($"must be one of {string.Join(", ", OrganizationStatusNames.All)}.");
        RuleFor(x => x.Plan).MaximumLength(40).WithMessage("must be at most 40 characters.");
        RuleFor(x => x.ServerId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.Q).MaximumLength(200).WithMessage("must be at most 200 characters.");
        RuleFor(x => x.BackupOlderThanHours).InclusiveBetween(1, 24 * 366).WithMessage($"must be between 1 and {24 * 366}.");
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Sort).Must(sort => AdminOrganizationSort.TryParse(sort, out _))
            .WithMessage($"must be one of {string.Join(", ", AdminOrganizationSort.Fields)} (prefix '-' for descending).");
        RuleFor(x => x.Cursor).Must((query, cursor) => AdminOrganizationSort.IsValidCursor(query.Sort, cursor))
            .WithMessage("is not a cursor returned by this list with the same sort.");
    }
}

public sealed class ListAdminOrganizationsHandler(ICatalogDbContext db, IFleetMigrations fleet, TimeProvider clock)
    : IQueryHandler<ListAdminOrganizations, Result<Page<AdminOrganizationListItem>>>
{
    public async ValueTask<Result<Page<AdminOrganizationListItem>>> Handle(ListAdminOrganizations query,
        CancellationToken cancellationToken)
    {
        if (query.Plan is { } plan && !await db.Plans.AnyAsync(p => p.Key == plan, cancellationToken))
        {
            return Error.Validation("plan", $"plan '{plan}' is not a plan.");
        }

        if (query.ServerId is { } serverId && !await db.DatabaseServers.AnyAsync(s => s.Id == serverId, cancellationToken))
        {
            return Error.Validation("server", $"server '{serverId}' does not name a database server.");
        }

        var head = fleet.SchemaHead;
        var organizations = db.Organizations.AsNoTracking();
        organizations = OrganizationStatusNames.TryParse(query.Status, out var status)
            ? organizations.Where(o => o.Status == status)
            : organizations.Where(o => o.Status != OrganizationStatus.Deleted);
        if (query.Plan is { } planKey)
        {
            organizations = organizations.Where(o => o.PlanKey == planKey);
        }

        if (query.ServerId is { } server)
        {
            organizations = organizations.Where(o => o.DatabaseServerId == server);
        }

        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var q = query.Q.Trim().ToLowerInvariant();
            organizations = organizations.Where(o => o.Name.ToLower().Contains(q)
                || o.Slug.Contains(q)
                || db.Memberships.Any(m => m.OrganizationId == o.Id && m.Role == OrgRole.Owner && m.User!.Email.ToLower().Contains(q)));
        }

        if (query.SchemaBehind is { } behind)
        {
            organizations = behind
                ? organizations.Where(o =>
                    (o.Status == OrganizationStatus.Active || o.Status == OrganizationStatus.Suspended) && o.SchemaVersion != head)
                : organizations.Where(o =>
                    !((o.Status == OrganizationStatus.Active || o.Status == OrganizationStatus.Suspended) && o.SchemaVersion != head));
        }

        if (query.FailedProvisioning is { } failed)
        {
            organizations = failed
                ? organizations.Where(o => o.Status == OrganizationStatus.Failed)
                : organizations.Where(o => o.Status != OrganizationStatus.Failed);
        }

        if (query.BackupOlderThanHours is { } hours)
        {
            var threshold = clock.GetUtcNow().AddHours(-hours);
            organizations = organizations.Where(o => !db.Backups.Any(b =>
                b.OrganizationId == o.Id && b.Status == BackupStatus.Succeeded && b.FinishedAt >= threshold));
        }

        AdminOrganizationSort.TryParse(query.Sort, out var order);
        Cursor.TryDecode(query.Cursor, order.Text, out var after);
        var limit = query.Limit ?? Cursor.DefaultLimit;
        var key = AdminOrganizationSort.Key(order.Field);
        var rows = await Keyset.Seek(AdminOrganizationRow.Project(db, organizations, head), key, order.Descending, after, r => r.Id)
            .Take(limit + 1)
            .ToListAsync(cancellationToken);
        return Keyset.ToPage(rows, limit, key, order.Text, r => r.Id, r => r.ToItem());
    }
}

/// <summary>The sortable fields of the admin organization list; nulls sort as the lowest value.</summary>
internal static class AdminOrganizationSort
{
    public const string Fallback = "-createdAt";

    private static readonly Dictionary<string, SortKey<AdminOrganizationRow>> Keys = new SortKey<AdminOrganizationRow>[]
    {
        SortKey<AdminOrganizationRow>.Text("name", r => r.Name),
        SortKey<AdminOrganizationRow>.Text("slug", r => r.Slug),
        SortKey<AdminOrganizationRow>.Text("plan", r => r.PlanKey),
        SortKey<AdminOrganizationRow>.Number("status", r => r.StatusRank),
        SortKey<AdminOrganizationRow>.Text("server", r => r.ServerName ?? string.Empty),
        SortKey<AdminOrganizationRow>.Text("schemaVersion", r => r.SchemaVersion ?? string.Empty),
        SortKey<AdminOrganizationRow>.Number("databaseSize", r => r.DatabaseSizeBytes ?? -1),
        SortKey<AdminOrganizationRow>.Number("members", r => r.Members),
        SortKey<AdminOrganizationRow>.Time("lastBackupAt", r => r.LastBackupAt ?? DateTimeOffset.UnixEpoch),
        SortKey<AdminOrganizationRow>.Time("createdAt", r => r.CreatedAt),
    }.ToDictionary(k => k.Field, StringComparer.Ordinal);

    public static IEnumerable<string> Fields => Keys.Keys;

    public static SortKey<AdminOrganizationRow> Key(string field) => Keys[field];

    public static bool TryParse(string? sort, out SortOrder order) => SortOrder.TryParse(sort, Keys.Keys, Fallback, out order);

    public static bool IsValidCursor(string? sort, string? cursor)
    {
        if (!TryParse(sort, out var order))
        {
            return true;
        }

        if (!Cursor.TryDecode(cursor, order.Text, out var decoded))
        {
            return false;
        }

        try
        {
            _ = decoded is null ? null : Keys[order.Field].Parse(decoded.Value);
            return true;
        }
        catch (Exception exception) when (exception is FormatException or OverflowException or ArgumentException)
        {
            return false;
        }
    }
}
