using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.DatabaseServers;
using CleanCrm.Application.Organizations;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Fleet.Queries.GetFleetOverview;

/// <summary>
/// The fleet at a glance (<c>GET /api/v1/admin/overview</c>): organizations per status (every status, zeros included),
/// signups and failed provisioning runs in the last 24 hours, how many active or suspended organizations are behind the
/// head schema, the oldest "latest successful backup" among them, and the database servers with their fill.
/// </summary>
[RequiresPlatformAdmin]
public sealed record GetFleetOverview : IQuery<Result<FleetOverview>>;

public sealed record FleetOverview(
    IReadOnlyDictionary<string, int> ByStatus,
    int SignupsLast24h,
    int ProvisioningFailuresLast24h,
    int SchemaBehind,
    string? SchemaHead,
    DateTimeOffset? OldestLatestBackupAt,
    IReadOnlyList<DatabaseServerDto> Servers);

public sealed class GetFleetOverviewHandler(ICatalogDbContext db, IFleetMigrations fleet, TimeProvider clock)
    : IQueryHandler<GetFleetOverview, Result<FleetOverview>>
{
    public async ValueTask<Result<FleetOverview>> Handle(GetFleetOverview query, CancellationToken cancellationToken)
    {
        var since = clock.GetUtcNow().AddHours(-24);
        var head = fleet.SchemaHead;
        var counts = await db.Organizations.AsNoTracking()
            .GroupBy(o => o.Status)
            .Select(g => new { Status = g.Key, Count = g.Count() })
            .ToListAsync(cancellationToken);
        var byStatus = Enum.GetValues<OrganizationStatus>().ToDictionary(
            OrganizationStatusNames.Name, s => counts.FirstOrDefault(c => c.Status == s)?.Count ?? 0, StringComparer.Ordinal);
        var signups = await db.Organizations.CountAsync(o => o.CreatedAt >= since, cancellationToken);
        var failures = await db.ProvisioningRuns.CountAsync(
            r => r.Status == ProvisioningStatus.Failed && (r.FinishedAt ?? r.CreatedAt) >= since, cancellationToken);
        var live = db.Organizations.AsNoTracking()
            .Where(o => o.Status == OrganizationStatus.Active || o.Status == OrganizationStatus.Suspended);
        var behind = await live.CountAsync(o => o.SchemaVersion != head, cancellationToken);
        var oldestLatestBackup = await live
            .Select(o => db.Backups.Where(b => b.OrganizationId == o.Id && b.Status == BackupStatus.Succeeded).Max(b => b.FinishedAt))
            .Where(latest => latest != null)
            .MinAsync(latest => latest, cancellationToken);
        var servers = await DatabaseServerDto.ListAsync(db, null, cancellationToken);
        return new FleetOverview(byStatus, signups, failures, behind, head, oldestLatestBackup, servers);
    }
}
