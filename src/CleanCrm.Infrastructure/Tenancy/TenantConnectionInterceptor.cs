using System.Data.Common;
using CleanCrm.Infrastructure.Persistence.Tenant;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>Takes a connection slot from the process-wide budget before EF opens a tenant connection.</summary>
public sealed class TenantConnectionInterceptor : DbConnectionInterceptor
{
    public override async ValueTask<InterceptionResult> ConnectionOpeningAsync(
        DbConnection connection,
        ConnectionEventData eventData,
        InterceptionResult result,
        CancellationToken cancellationToken = default)
    {
        if (eventData.Context is TenantDbContext { Connection: { } handle })
        {
            await handle.AcquireAsync(cancellationToken);
        }

        return result;
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        if (eventData.Context is TenantDbContext { Connection: { } handle })
        {
            await handle.OnOpenedAsync(cancellationToken);
        }
    }

    public override InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        if (eventData.Context is TenantDbContext { Connection: not null })
        {
            throw new InvalidOperationException(
                "Tenant connections are opened asynchronously only, so waiting for a slot never blocks a thread.");
        }

        return result;
    }

    public override Task ConnectionFailedAsync(DbConnection connection, ConnectionErrorEventData eventData,
        CancellationToken cancellationToken = default)
    {
        Release(eventData);
        return Task.CompletedTask;
    }

    public override void ConnectionFailed(DbConnection connection, ConnectionErrorEventData eventData) => Release(eventData);

    // EF Core 10 reports a cancelled open (e.g. the HTTP client went away while the connection was being opened) here,
    // not to ConnectionFailed: without these overrides the slot taken in ConnectionOpeningAsync was never given back.
    public override Task ConnectionCanceledAsync(DbConnection connection, ConnectionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        Release(eventData);
        return Task.CompletedTask;
    }

    public override void ConnectionCanceled(DbConnection connection, ConnectionEndEventData eventData) => Release(eventData);

    private static void Release(ConnectionEventData eventData)
    {
        if (eventData.Context is TenantDbContext { Connection: { } handle } && handle.Connection.State != System.Data.ConnectionState.Open)
        {
            handle.ReleaseIfHeld();
        }
    }
}
