using System.Runtime.CompilerServices;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Common.Tenancy;

/// <summary>The organization the current request or job works for. Set by the org-resolution middleware or a tenant scope.</summary>
public interface ITenantContext
{
    /// <summary>The current tenant, or <c>null</c> outside any tenant scope.</summary>
    TenantInfo? Current { get; }
}

/// <summary>What the application needs to know about the organization in scope.</summary>
public sealed record TenantInfo(Guid OrganizationId, string Slug, string Name, OrganizationStatus Status, string PlanKey);

/// <summary>Opens a tenant scope for requests, jobs and CLI work: <c>await using var scope = await scopes.BeginAsync(orgId);</c>.</summary>
public interface ITenantScopeFactory
{
    /// <summary>
    /// Makes <paramref name="organizationId"/> the current tenant of the awaiting code until the scope is disposed. Scopes
    /// nest and restore the previous one. Throws <see cref="TenantNotFoundException"/> for an unknown organization.
    /// </summary>
    TenantScopeTask BeginAsync(Guid organizationId, CancellationToken cancellationToken = default);
}

/// <summary>
/// A tenant scope. It becomes current when the <see cref="TenantScopeTask"/> is awaited: the awaiter enters it in the
/// awaiting method's execution context (an async method cannot change its caller's AsyncLocal values itself).
/// </summary>
public abstract class TenantScope : IAsyncDisposable
{
    public abstract TenantInfo Tenant { get; }

    /// <summary>Makes this scope current in the caller's execution context; called by the awaiter, once.</summary>
    protected internal abstract void Enter();

    /// <summary>Restores the previous scope synchronously (so it applies to the caller) and releases resources.</summary>
    public abstract ValueTask DisposeAsync();
}

/// <summary>Awaitable returned by <see cref="ITenantScopeFactory.BeginAsync"/>; see <see cref="TenantScope"/>.</summary>
public readonly struct TenantScopeTask(ValueTask<TenantScope> inner)
{
    public Awaiter GetAwaiter() => new(inner.GetAwaiter());

    public readonly struct Awaiter(ValueTaskAwaiter<TenantScope> inner) : ICriticalNotifyCompletion
    {
        public bool IsCompleted => inner.IsCompleted;

        public TenantScope GetResult()
        {
            var scope = inner.GetResult();
            scope.Enter();
            return scope;
        }

        public void OnCompleted(Action continuation) => inner.OnCompleted(continuation);

        public void UnsafeOnCompleted(Action continuation) => inner.UnsafeOnCompleted(continuation);
    }
}

/// <summary>The organization does not exist in the catalog (or has no database yet).</summary>
public sealed class TenantNotFoundException(Guid organizationId)
    : Exception($"Organization '{organizationId}' does not exist or has no database.")
{
    public Guid OrganizationId { get; } = organizationId;
}

/// <summary>Tenant data was requested outside any tenant scope: a bug in the caller, reported as <c>org_required</c>.</summary>
public sealed class TenantScopeRequiredException() : Exception(
    "This operation needs a tenant scope (X-Org header or tenantScopes.BeginAsync).");

/// <summary>Marks a request that works on one organization's data; the org guard refuses it without a tenant scope.</summary>
public interface IOrgScopedRequest;
