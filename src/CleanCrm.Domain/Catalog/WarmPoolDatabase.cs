namespace CleanCrm.Domain.Catalog;

public enum WarmPoolDatabaseStatus
{
    /// <summary>Being created by the refiller; a row left in this state by a crash is discarded by the next refill.</summary>
    Creating,

    /// <summary>Migrated, granted to its own role, empty: a signup may claim it.</summary>
    Ready,

    /// <summary>Claimed by <see cref="WarmPoolDatabase.OrganizationId"/>; the row goes once the database carries the org's name.</summary>
    Claimed,
}

/// <summary>
/// A pre-created, migrated, empty tenant database with its own login role on one server, waiting for a signup
/// (docs/adr/0015-warm-pool-of-tenant-databases.md). Its database and role are both named <see cref="NameFor"/>.
/// </summary>
public sealed class WarmPoolDatabase
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid DatabaseServerId { get; set; }

    public WarmPoolDatabaseStatus Status { get; set; } = WarmPoolDatabaseStatus.Creating;

    /// <summary>The last tenant migration applied; a claim takes only entries at this build's latest.</summary>
    public string? SchemaVersion { get; set; }

    public Guid? OrganizationId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? ClaimedAt { get; set; }

    public string DatabaseName => NameFor(Id);

    /// <summary>Database and role name of a pool entry: never a tenant name (<c>cleancrm_t_</c>), so no org can see it.</summary>
    public static string NameFor(Guid id) => $"cleancrm_p_{id:N}";
}
