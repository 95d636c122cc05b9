using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Infrastructure.Persistence.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>The one place that turns the current tenant scope into a <see cref="TenantDbContext"/>.</summary>
public sealed class TenantDbContextFactory(TenantScopeAccessor accessor, TenantConnectionInterceptor interceptor, AuditLogInterceptor audit)
{
    public TenantDbContext CreateForCurrentScope()
    {
        var frame = accessor.Frame ?? throw new TenantScopeRequiredException();
        var handle = frame.Lease.CreateHandle();
        var options = new DbContextOptionsBuilder<TenantDbContext>()
            .UseNpgsql(handle.Connection, contextOwnsConnection: true, npgsql => npgsql.MigrationsHistoryTable(TenantMigrations.HistoryTable))
            .UseSnakeCaseNamingConvention()
            .UseQueryTrackingBehavior(QueryTrackingBehavior.TrackAll)
            .AddInterceptors(interceptor, audit)
            .Options;
        return new TenantDbContext(options, handle);
    }
}
