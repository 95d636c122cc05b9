using CleanCrm.Application.PlatformAudit;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Persistence.Catalog;

/// <summary>Appends platform audit entries through a context of its own (see <see cref="IPlatformAuditWriter"/>).</summary>
public sealed class PlatformAuditWriter(IDbContextFactory<CatalogDbContext> contexts) : IPlatformAuditWriter
{
    public async Task AppendAsync(PlatformAuditEntry entry, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (entry.ActorEmail is null && entry.ActorUserId is { } actor)
        {
            entry.ActorEmail = await db.Users.AsNoTracking().Where(u => u.Id == actor).Select(u => u.Email).FirstOrDefaultAsync(cancellationToken);
        }

        db.PlatformAuditLog.Add(entry);
        await db.SaveChangesAsync(cancellationToken);
    }
}
