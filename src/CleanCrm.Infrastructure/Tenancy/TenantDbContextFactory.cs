using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Infrastructure.Persistence.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>The one place that turns the current tenant scope into a <see cref="TenantDbContext"/>.</summary>
public sealed class TenantDbContextFactory
{
    // Built once: the options hold no tenant (each context gets its scope's budgeted connection below), so every
    // context shares them, and EF finds its internal service provider and compiled-query caches without rebuilding
    // and comparing a fresh options instance per request.
    private readonly DbContextOptions<TenantDbContext> _options;
    private readonly TenantScopeAccessor _accessor;

    public TenantDbContextFactory(TenantScopeAccessor accessor, TenantConnectionInterceptor interceptor, AuditLogInterceptor audit)
    {
        _accessor = accessor;
        _options = new DbContextOptionsBuilder<TenantDbContext>()
            .UseNpgsql(npgsql => npgsql.MigrationsHistoryTable(TenantMigrations.HistoryTable))
            .UseSnakeCaseNamingConvention()
            .UseQueryTrackingBehavior(QueryTrackingBehavior.TrackAll)
            .AddInterceptors(interceptor, audit)
            .Options;
    }

    public TenantDbContext CreateForCurrentScope()
    {
        var frame = _accessor.Frame ?? throw new TenantScopeRequiredException();
        var handle = frame.Lease.CreateHandle();
        var context = new TenantDbContext(_options, handle);
        context.Database.SetDbConnection(handle.Connection, contextOwnsConnection: true);
        return context;
    }
}
