using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Options;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>Where an organization's database lives and how to reach it (without the password).</summary>
public sealed record TenantLocation(
    Guid OrganizationId,
    string Slug,
    string Name,
    OrganizationStatus Status,
    string PlanKey,
    Guid? DatabaseServerId,
    string? Host,
    int Port,
    string DatabaseName,
    string DatabaseRole)
{
    public TenantInfo ToTenantInfo() => new(OrganizationId, Slug, Name, Status, PlanKey);
}

/// <summary>Catalog lookups of organizations and memberships, cached briefly and invalidated when this process changes them.</summary>
public sealed class TenantDirectory(IDbContextFactory<CatalogDbContext> catalog, IOptions<TenancyOptions> options) : IDisposable
{
    // A private cache, so dropping everything after a missed notification does not touch anyone else's entries.
    private readonly MemoryCache cache = new(new MemoryCacheOptions());

    // Bumped by every invalidation. A lookup that started before an invalidation must not cache what it read: it may
    // be the old row, and caching it after the NOTIFY would keep a stale status for a whole TTL.
    private long _generation;

    // Organizations between states (pending, provisioning, moving…) change soon; they are cached only briefly.
    private static readonly TimeSpan TransitionalTtl = TimeSpan.FromSeconds(1);

    /// <summary>Raised after an organization's entry (its id) or everything (null) is dropped, so dependent caches follow.</summary>
    public event Action<Guid?>? Invalidated;

    private TimeSpan Ttl => TimeSpan.FromSeconds(options.Value.DirectoryCacheSeconds);

    public async ValueTask<TenantLocation?> FindAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        if (cache.TryGetValue(IdKey(organizationId), out TenantLocation? cached))
        {
            return cached;
        }

        var generation = Interlocked.Read(ref _generation);
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var location = await Query(db.Organizations.Where(o => o.Id == organizationId)).FirstOrDefaultAsync(cancellationToken);
        Remember(location, generation);
        return location;
    }

    public async ValueTask<TenantLocation?> FindBySlugAsync(string slug, CancellationToken cancellationToken)
    {
        if (cache.TryGetValue(SlugKey(slug), out Guid organizationId))
        {
            return await FindAsync(organizationId, cancellationToken);
        }

        var generation = Interlocked.Read(ref _generation);
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var location = await Query(db.Organizations.Where(o => o.Slug == slug)).FirstOrDefaultAsync(cancellationToken);
        Remember(location, generation);
        return location;
    }

    /// <summary>The caller's role in the organization, or null when not a member.</summary>
    public async ValueTask<OrgRole?> FindRoleAsync(Guid organizationId, Guid userId, CancellationToken cancellationToken)
    {
        var key = ("role", organizationId, userId);
        if (cache.TryGetValue(key, out OrgRole? cached))
        {
            return cached;
        }

        var generation = Interlocked.Read(ref _generation);
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var role = await db.Memberships.AsNoTracking()
            .Where(m => m.OrganizationId == organizationId && m.UserId == userId)
            .Select(m => (OrgRole?)m.Role)
            .FirstOrDefaultAsync(cancellationToken);
        if (Ttl > TimeSpan.Zero && Interlocked.Read(ref _generation) == generation)
        {
            cache.Set(key, role, Ttl);
        }

        return role;
    }

    public void Invalidate(Guid organizationId)
    {
        Interlocked.Increment(ref _generation);
        if (cache.TryGetValue(IdKey(organizationId), out TenantLocation? cached) && cached is not null)
        {
            cache.Remove(SlugKey(cached.Slug));
        }

        cache.Remove(IdKey(organizationId));
        Invalidated?.Invoke(organizationId);
    }

    public void InvalidateMembership(Guid organizationId, Guid userId)
    {
        Interlocked.Increment(ref _generation);
        cache.Remove(("role", organizationId, userId));
    }

    public void InvalidateAll()
    {
        Interlocked.Increment(ref _generation);
        cache.Compact(1.0);
        Invalidated?.Invoke(null);
    }

    public void Dispose() => cache.Dispose();

    private void Remember(TenantLocation? location, long generation)
    {
        if (location is null || Ttl == TimeSpan.Zero || Interlocked.Read(ref _generation) != generation)
        {
            return;
        }

        var ttl = location.Status is OrganizationStatus.Active or OrganizationStatus.Suspended
            ? Ttl
            : TimeSpan.FromTicks(Math.Min(Ttl.Ticks, TransitionalTtl.Ticks));
        cache.Set(IdKey(location.OrganizationId), location, ttl);
        cache.Set(SlugKey(location.Slug), location.OrganizationId, ttl);
    }

    private static IQueryable<TenantLocation> Query(IQueryable<Organization> organizations) =>
        organizations.AsNoTracking().Select(o => new TenantLocation(
            o.Id,
            o.Slug,
            o.Name,
            o.Status,
            o.PlanKey,
            o.DatabaseServerId,
            o.DatabaseServer != null ? o.DatabaseServer.Host : null,
            o.DatabaseServer != null ? o.DatabaseServer.Port : 0,
            o.DatabaseName,
            o.DatabaseRole));

    private static (string, Guid) IdKey(Guid organizationId) => ("org", organizationId);

    private static (string, string) SlugKey(string slug) => ("slug", slug);
}
