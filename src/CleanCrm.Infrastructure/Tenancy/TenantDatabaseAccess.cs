using System.Data;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>Opens a tenant scope on a named organization for one piece of work, then closes it (connection slot returned).</summary>
public sealed class TenantDatabaseAccess(ITenantScopeFactory scopes, TenantDbContextFactory contexts) : ITenantDatabaseAccess
{
    public async Task<T> ReadAsync<T>(Guid organizationId, Func<ITenantDbContext, CancellationToken, Task<T>> read,
        CancellationToken cancellationToken)
    {
        await using var scope = await scopes.BeginAsync(organizationId, cancellationToken);
        await using var db = contexts.CreateForCurrentScope();
        await using var transaction = await db.Database.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        // PostgreSQL refuses every INSERT, UPDATE, DELETE and DDL in a read-only transaction, whatever the code below tries.
        await db.Database.ExecuteSqlRawAsync("SET TRANSACTION READ ONLY", cancellationToken);
        var result = await read(db, cancellationToken);
        await transaction.RollbackAsync(cancellationToken);
        return result;
    }

    public async Task AppendAuditEntryAsync(Guid organizationId, AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var scope = await scopes.BeginAsync(organizationId, cancellationToken);
        await using var db = contexts.CreateForCurrentScope();
        db.AuditLog.Add(entry);
        await db.SaveChangesAsync(cancellationToken);
    }
}
