using CleanCrm.Application.Common.Persistence;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Organizations;

/// <summary>
/// One organization in the platform admins' list: where its database lives, how far its schema is, its size (as last
/// measured), members, last successful backup and first owner.
/// </summary>
public sealed record AdminOrganizationListItem(
    Guid Id,
    string Slug,
    string Name,
    string Plan,
    string Status,
    Guid? ServerId,
    string? ServerName,
    string? DatabaseName,
    string? SchemaVersion,
    bool SchemaBehind,
    long? DatabaseSizeBytes,
    int Members,
    DateTimeOffset? LastBackupAt,
    DateTimeOffset CreatedAt,
    string? OwnerEmail);

/// <summary>The catalog row behind a list item, as one SQL projection (sortable and seekable by every list field).</summary>
internal sealed class AdminOrganizationRow
{
    public Guid Id { get; init; }

    public string Slug { get; init; } = string.Empty;

    public string Name { get; init; } = string.Empty;

    public string PlanKey { get; init; } = string.Empty;

    public OrganizationStatus Status { get; init; }

    /// <summary>Lifecycle order of <see cref="Status"/> (pending first, deleted last), what <c>sort=status</c> orders by.</summary>
    public int StatusRank { get; init; }

    public Guid? ServerId { get; init; }

    public string? ServerName { get; init; }

    public string DatabaseName { get; init; } = string.Empty;

    public string? SchemaVersion { get; init; }

    public bool SchemaBehind { get; init; }

    public long? DatabaseSizeBytes { get; init; }

    public int Members { get; init; }

    public DateTimeOffset? LastBackupAt { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public string? OwnerEmail { get; init; }

    public static IQueryable<AdminOrganizationRow> Project(ICatalogDbContext db, IQueryable<Organization> organizations, string head) =>
        organizations.Select(o => new AdminOrganizationRow
        {
            Id = o.Id,
            Slug = o.Slug,
            Name = o.Name,
            PlanKey = o.PlanKey,
            Status = o.Status,
            StatusRank = o.Status == OrganizationStatus.Pending ? 0
                : o.Status == OrganizationStatus.Provisioning ? 1
                : o.Status == OrganizationStatus.Failed ? 2
                : o.Status == OrganizationStatus.Active ? 3
                : o.Status == OrganizationStatus.Suspended ? 4
                : o.Status == OrganizationStatus.Moving ? 5
                : o.Status == OrganizationStatus.Deleting ? 6
                : 7,
            ServerId = o.DatabaseServerId,
            ServerName = o.DatabaseServer == null ? null : o.DatabaseServer.Name,
            DatabaseName = o.DatabaseName,
            SchemaVersion = o.SchemaVersion,
            SchemaBehind = (o.Status == OrganizationStatus.Active || o.Status == OrganizationStatus.Suspended) && o.SchemaVersion != head,
            DatabaseSizeBytes = o.DatabaseSizeBytes,
            Members = db.Memberships.Count(m => m.OrganizationId == o.Id),
            LastBackupAt = db.Backups
                .Where(b => b.OrganizationId == o.Id && b.Status == BackupStatus.Succeeded)
                .Max(b => b.FinishedAt),
            CreatedAt = o.CreatedAt,
            OwnerEmail = db.Memberships
                .Where(m => m.OrganizationId == o.Id && m.Role == OrgRole.Owner)
                .OrderBy(m => m.CreatedAt)
                .Select(m => m.User!.Email)
                .FirstOrDefault(),
        });

    public AdminOrganizationListItem ToItem() => new(
        Id,
        Slug,
        Name,
        PlanKey,
        OrganizationStatusNames.Name(Status),
        ServerId,
        ServerName,
        string.IsNullOrEmpty(DatabaseName) ? null : DatabaseName,
        SchemaVersion,
        SchemaBehind,
        DatabaseSizeBytes,
        Members,
        LastBackupAt,
        CreatedAt,
        OwnerEmail);
}

/// <summary>Organization statuses as the admin endpoints spell them (lowercase).</summary>
public static class OrganizationStatusNames
{
    public static IReadOnlyList<string> All { get; } = [.. Enum.GetValues<OrganizationStatus>().Select(Name)];

    public static string Name(OrganizationStatus status) => status.ToString().ToLowerInvariant();

    public static bool TryParse(string? text, out OrganizationStatus status)
    {
        foreach (var candidate in Enum.GetValues<OrganizationStatus>())
        {
            if (string.Equals(Name(candidate), text, StringComparison.Ordinal))
            {
                status = candidate;
                return true;
            }
        }

        status = default;
        return false;
    }
}
