using CleanCrm.Application.Billing;
using CleanCrm.Infrastructure.Options;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Billing;

/// <summary>
/// Billing profiles cached per org for <c>CleanCrm:Tenancy:DirectoryCacheSeconds</c>. Propagation across instances uses
/// the catalog LISTEN/NOTIFY channel: triggers on organizations, feature_overrides and limit_overrides send
/// <c>org:&lt;id&gt;</c>, the <see cref="CatalogChangeListener"/> drops the tenant directory entry, and this cache follows
/// through <see cref="TenantDirectory.Invalidated"/>. A generation counter keeps a read that raced an invalidation from
/// being cached.
/// </summary>
public sealed class CachedBillingProfiles : IBillingProfiles, IDisposable
{
    private readonly IDbContextFactory<CatalogDbContext> _catalog;
    private readonly IOptions<TenancyOptions> _options;
    private readonly TenantDirectory _directory;
    private readonly MemoryCache _cache = new(new MemoryCacheOptions());
    private long _generation;

    public CachedBillingProfiles(IDbContextFactory<CatalogDbContext> catalog, IOptions<TenancyOptions> options, TenantDirectory directory)
    {
        _catalog = catalog;
        _options = options;
        _directory = directory;
        _directory.Invalidated += OnInvalidated;
    }

    public async ValueTask<BillingProfile?> GetAsync(Guid organizationId, CancellationToken cancellationToken = default)
    {
        if (_cache.TryGetValue(organizationId, out BillingProfile? cached))
        {
            return cached;
        }

        var generation = Interlocked.Read(ref _generation);
        await using var db = await _catalog.CreateDbContextAsync(cancellationToken);
        var plan = await db.Organizations.AsNoTracking().Where(o => o.Id == organizationId)
            .Join(db.Plans, o => o.PlanKey, p => p.Key, (o, p) => p)
            .Include(p => p.Features)
            .FirstOrDefaultAsync(cancellationToken);
        if (plan is null)
        {
            return null;
        }

        var overrides = await db.FeatureOverrides.AsNoTracking().Where(f => f.OrganizationId == organizationId)
            .OrderBy(f => f.FeatureKey)
            .Select(f => new FeatureOverrideInfo(f.FeatureKey, f.Enabled, f.ExpiresAt))
            .ToListAsync(cancellationToken);
        var limits = await db.LimitOverrides.AsNoTracking().FirstOrDefaultAsync(l => l.OrganizationId == organizationId, cancellationToken);
        var profile = new BillingProfile(
            organizationId,
            plan.Key,
            new EntitlementLimits(plan.Seats, plan.AiTokensPerMonth, plan.ApiRequestsPer10Seconds, plan.BackupRetentionDays),
            plan.Features.ToDictionary(f => f.FeatureKey, f => f.Enabled, StringComparer.Ordinal),
            overrides,
            limits);
        var ttl = TimeSpan.FromSeconds(_options.Value.DirectoryCacheSeconds);
        if (ttl > TimeSpan.Zero && Interlocked.Read(ref _generation) == generation)
        {
            _cache.Set(organizationId, profile, ttl);
        }

        return profile;
    }

    public void Invalidate(Guid organizationId) => OnInvalidated(organizationId);

    public void Dispose()
    {
        _directory.Invalidated -= OnInvalidated;
        _cache.Dispose();
    }

    private void OnInvalidated(Guid? organizationId)
    {
        Interlocked.Increment(ref _generation);
        if (organizationId is { } id)
        {
            _cache.Remove(id);
        }
        else
        {
            _cache.Compact(1.0);
        }
    }
}
