using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Infrastructure.Persistence.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>The one place that turns the current tenant scope into a <see cref="TenantDbContext"/>.</summary>
/// <remarks>
/// Contexts come from an EF context pool: the options hold no tenant (each lease gets its scope's budgeted connection
/// with <c>SetDbConnection</c>), so one pool serves every tenant, and a request no longer builds EF's internal service
/// scope, state manager and per-category loggers (locks and allocations measured as most of the read path's overhead,
/// docs/performance.md). EF resets a returned context's change tracker; <see cref="TenantDbContext"/> itself closes
/// and disposes its connection first (EF's reset would keep an explicitly opened one), which gives the slot back.
/// </remarks>
public sealed class TenantDbContextFactory
{
    private readonly PooledDbContextFactory<TenantDbContext> _pool;
    private readonly TenantScopeAccessor _accessor;

    public TenantDbContextFactory(TenantScopeAccessor accessor, TenantConnectionInterceptor interceptor, AuditLogInterceptor audit,
        DomainEventInterceptor domainEvents,
        Microsoft.Extensions.Options.IOptions<Options.TenancyOptions> tenancy)
    {
        _accessor = accessor;
        var options = new DbContextOptionsBuilder<TenantDbContext>()
            .UseNpgsql(npgsql => npgsql.MigrationsHistoryTable(TenantMigrations.HistoryTable))
            .UseSnakeCaseNamingConvention()
            .UseQueryTrackingBehavior(QueryTrackingBehavior.TrackAll)
            .AddInterceptors(interceptor, audit, domainEvents)
            .EnableThreadSafetyChecks(tenancy.Value.EfThreadSafetyChecks)
            .Options;
        _pool = new PooledDbContextFactory<TenantDbContext>(options, poolSize: 256);
    }

    /// <summary>A context for the current tenant scope that the caller owns and disposes (disposal returns it to the pool).</summary>
    public TenantDbContext CreateForCurrentScope() => Create(ownedByScope: false);

    internal TenantDbContext CreateOwnedByScope() => Create(ownedByScope: true);

    private TenantDbContext Create(bool ownedByScope)
    {
        var frame = _accessor.Frame ?? throw new TenantScopeRequiredException();
        var handle = frame.Lease.CreateHandle();
        var context = _pool.CreateDbContext();
        context.Bind(handle, ownedByScope);
        return context;
    }
}

/// <summary>
/// The single disposal owner of a DI scope's <see cref="TenantDbContext"/>. DI disposes objects in reverse order of
/// creation, and this object is always created before the context it hands out, so it runs last: every other disposal
/// of the context (through its two registrations) is a no-op, and this one returns it to the pool exactly once.
/// </summary>
internal sealed class ScopedTenantDbContext(TenantDbContextFactory factory) : IAsyncDisposable, IDisposable
{
    private TenantDbContext? _context;

    public TenantDbContext Context => _context ??= factory.CreateOwnedByScope();

    public ValueTask DisposeAsync()
    {
        var context = Interlocked.Exchange(ref _context, null);
        return context?.ReleaseFromScopeAsync() ?? ValueTask.CompletedTask;
    }

    public void Dispose() => Interlocked.Exchange(ref _context, null)?.ReleaseFromScope();
}
