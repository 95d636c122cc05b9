using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Provisioning;

public sealed class NoDatabaseCapacityException() : Exception("No active database server has room for another tenant database.");

/// <summary>Places a new tenant on the active server with the lowest fill ratio that still has capacity.</summary>
public sealed class TenantPlacement
{
    public async Task<DatabaseServer> ChooseServerAsync(CatalogDbContext db, CancellationToken cancellationToken)
    {
        var candidates = await db.DatabaseServers
            .Where(s => s.Status == DatabaseServerStatus.Active)
            .Select(s => new
            {
                Server = s,
                Tenants = db.Organizations.Count(o => o.DatabaseServerId == s.Id && o.Status != OrganizationStatus.Deleted),
            })
            .ToListAsync(cancellationToken);

        var chosen = candidates
            .Where(c => c.Tenants < c.Server.Capacity)
            .OrderBy(c => (double)c.Tenants / c.Server.Capacity)
            .ThenBy(c => c.Server.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return chosen?.Server ?? throw new NoDatabaseCapacityException();
    }
}
