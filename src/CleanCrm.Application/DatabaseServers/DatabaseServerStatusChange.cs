using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.DatabaseServers;

/// <summary>Drain and activate: set a server's status (idempotent) and answer the server as listed.</summary>
internal static class DatabaseServerStatusChange
{
    public static async Task<Result<DatabaseServerDto>> SetAsync(
        ICatalogDbContext db, Guid serverId, DatabaseServerStatus status, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var server = await db.DatabaseServers.FirstOrDefaultAsync(s => s.Id == serverId, cancellationToken);
        if (server is null)
        {
            return Error.NotFound("Database server", serverId);
        }

        if (server.Status != status)
        {
            server.Status = status;
            server.UpdatedAt = now;
            await db.SaveChangesAsync(cancellationToken);
        }

        return (await DatabaseServerDto.ListAsync(db, serverId, cancellationToken)).Single();
    }
}
