using CleanCrm.Application.Common.Secrets;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Secrets;

/// <summary>
/// Development/CI secret store: rows in the catalog's <c>secrets</c> table, encrypted with ASP.NET Core Data Protection
/// (keys also in the catalog, shared by API and worker). Production uses Key Vault.
/// </summary>
public sealed class LocalSecretStore(IDbContextFactory<CatalogDbContext> catalogFactory, IDataProtectionProvider dataProtection,
    TimeProvider clock) : ISecretStore
{
    private readonly IDataProtector _protector = dataProtection.CreateProtector("CleanCrm.Secrets.v1");

    public async Task<string?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        SecretName.Ensure(name);
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var row = await db.Secrets.AsNoTracking().FirstOrDefaultAsync(s => s.Name == name, cancellationToken);
        return row is null ? null : _protector.Unprotect(row.ProtectedValue);
    }

    public async Task SetAsync(string name, string value, CancellationToken cancellationToken = default)
    {
        SecretName.Ensure(name);
        ArgumentNullException.ThrowIfNull(value);
        var protectedValue = _protector.Protect(value);
        var now = clock.GetUtcNow();
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        await db.Database.ExecuteSqlInterpolatedAsync(
            $"""
             INSERT INTO secrets (name, protected_value, created_at, updated_at) VALUES ({name}, {protectedValue}, {now}, {now})
             ON CONFLICT (name) DO UPDATE SET protected_value = excluded.protected_value, updated_at = excluded.updated_at
             """,
            cancellationToken);
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        SecretName.Ensure(name);
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        await db.Secrets.Where(s => s.Name == name).ExecuteDeleteAsync(cancellationToken);
    }
}
