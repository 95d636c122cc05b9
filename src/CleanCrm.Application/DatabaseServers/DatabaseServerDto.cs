using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.DatabaseServers;

/// <summary>
/// A PostgreSQL server that hosts tenant databases, with how many it holds (organizations not deleted). Status:
/// <c>active</c> (takes new tenants), <c>draining</c> (keeps its tenants, takes no new ones), <c>offline</c>.
/// </summary>
public sealed record DatabaseServerDto(
    Guid Id, string Name, string Host, int Port, string AdminUsername, int Capacity, int Tenants, string Status, DateTimeOffset CreatedAt)
    : IPlatformAuditedResult
{
    Guid? IPlatformAuditedResult.AuditOrganizationId => null;

    // A registration names the new server only in its result.
    Guid? IPlatformAuditedResult.AuditTargetId => Id;

    public static string StatusName(DatabaseServerStatus status) => status.ToString().ToLowerInvariant();

    /// <summary>Every registered server with its tenant count, by name.</summary>
    public static async Task<List<DatabaseServerDto>> ListAsync(ICatalogDbContext db, Guid? only, CancellationToken cancellationToken)
    {
        var servers = db.DatabaseServers.AsNoTracking();
        if (only is { } id)
        {
            servers = servers.Where(s => s.Id == id);
        }

        var rows = await servers
            .OrderBy(s => s.Name)
            .Select(s => new
            {
                Server = s,
                Tenants = db.Organizations.Count(o => o.DatabaseServerId == s.Id && o.Status != OrganizationStatus.Deleted),
            })
            .ToListAsync(cancellationToken);
        return
        [
            .. rows.Select(r => new DatabaseServerDto(r.Server.Id, r.Server.Name, r.Server.Host, r.Server.Port,
                r.Server.AdminUsername, r.Server.Capacity, r.Tenants, StatusName(r.Server.Status), r.Server.CreatedAt)),
        ];
    }
}

/// <summary>The registered database servers (<c>GET /api/v1/admin/database-servers</c>).</summary>
public sealed record DatabaseServerListDto(IReadOnlyList<DatabaseServerDto> Items);

/// <summary>Checks that the platform can reach and sign in to a PostgreSQL server before it is registered.</summary>
public interface IDatabaseServerProbe
{
    /// <summary>Null when a connection as <paramref name="username"/> succeeds; else why not (readable, no password).</summary>
    Task<string?> TestAsync(string host, int port, string username, string password, CancellationToken cancellationToken);
}
