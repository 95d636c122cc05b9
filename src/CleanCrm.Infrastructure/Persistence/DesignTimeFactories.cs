using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Persistence.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace CleanCrm.Infrastructure.Persistence;

/// <summary>Lets <c>dotnet ef</c> build the catalog model without a running host (no database needed to add a migration).</summary>
public sealed class CatalogDbContextDesignTimeFactory : IDesignTimeDbContextFactory<CatalogDbContext>
{
    public CatalogDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<CatalogDbContext>()
            .UseNpgsql(Environment.GetEnvironmentVariable("ConnectionStrings__Catalog") ?? "Host=localhost;Database=cleancrm_catalog")
            .UseSnakeCaseNamingConvention()
            .UseOpenIddict<Guid>()
            .Options as DbContextOptions<CatalogDbContext> ?? throw new InvalidOperationException());
}

/// <summary>Lets <c>dotnet ef</c> build the tenant model without any tenant.</summary>
public sealed class TenantDbContextDesignTimeFactory : IDesignTimeDbContextFactory<TenantDbContext>
{
    public TenantDbContext CreateDbContext(string[] args) =>
        TenantMigrations.CreateMigrationContext("Host=localhost;Database=cleancrm_tenant_template");
}
