using CleanCrm.Application.Common.Tenancy;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>The AsyncLocal stack of tenant scopes; <see cref="ITenantContext"/> for the application.</summary>
public sealed class TenantScopeAccessor : ITenantContext
{
    private readonly AsyncLocal<TenantScopeFrame?> _current = new();

    public TenantInfo? Current => _current.Value?.Tenant;

    internal TenantScopeFrame? Frame => _current.Value;

    internal void Set(TenantScopeFrame? frame) => _current.Value = frame;
}

internal sealed class TenantScopeFrame(TenantInfo tenant, TenantPoolLease lease, TenantScopeFrame? parent)
{
    public TenantInfo Tenant { get; } = tenant;

    public TenantPoolLease Lease { get; } = lease;

    public TenantScopeFrame? Parent { get; } = parent;
}

/// <summary>Opens tenant scopes: looks the organization up in the catalog and pins its data source.</summary>
public sealed class TenantScopeFactory(TenantScopeAccessor accessor, TenantDirectory directory,
    TenantConnectionPool pool) : ITenantScopeFactory
{
    public TenantScopeTask BeginAsync(Guid organizationId, CancellationToken cancellationToken = default) =>
        new(OpenAsync(organizationId, cancellationToken));

    /// <summary>Opens a scope for a location already resolved (the request path resolved it to check membership).</summary>
    public TenantScopeTask BeginAsync(TenantLocation location, CancellationToken cancellationToken = default) =>
        new(OpenAsync(location, cancellationToken));

    private async ValueTask<TenantScope> OpenAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        var location = await directory.FindAsync(organizationId, cancellationToken) ?? throw new TenantNotFoundException(organizationId);
        return await OpenAsync(location, cancellationToken);
    }

    private async ValueTask<TenantScope> OpenAsync(TenantLocation location, CancellationToken cancellationToken)
    {
        if (location.DatabaseServerId is null || string.IsNullOrEmpty(location.DatabaseName))
        {
            throw new TenantNotFoundException(location.OrganizationId);
        }

        var lease = await pool.PinAsync(location, cancellationToken);
        return new ActiveTenantScope(accessor, location.ToTenantInfo(), lease);
    }

    private sealed class ActiveTenantScope(TenantScopeAccessor accessor, TenantInfo tenant, TenantPoolLease lease) : TenantScope
    {
        private TenantScopeFrame? _frame;

        public override TenantInfo Tenant => tenant;

        protected override void Enter()
        {
            if (_frame is not null)
            {
                throw new InvalidOperationException("A tenant scope is entered once.");
            }

            _frame = new TenantScopeFrame(tenant, lease, accessor.Frame);
            accessor.Set(_frame);
        }

        public override ValueTask DisposeAsync()
        {
            if (_frame is not null && ReferenceEquals(accessor.Frame, _frame))
            {
                accessor.Set(_frame.Parent);
            }

            lease.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
