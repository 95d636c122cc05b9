using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>
/// Keeps every process's catalog cache honest: triggers on the catalog NOTIFY each change of an organization or a
/// membership, and this listener drops the cached entry at once (a suspension takes effect in milliseconds on every
/// instance); a session revocation makes the revocation list read the catalog at once. After a lost connection the whole
/// cache is dropped and the revocations re-read, because notifications may have been missed.
/// </summary>
public sealed partial class CatalogChangeListener(
    IOptions<CatalogDatabaseOptions> catalog,
    TenantDirectory directory,
    TenantConnectionPool pool,
    Identity.SessionRevocations revocations,
    TimeProvider clock,
    ILogger<CatalogChangeListener> logger) : BackgroundService
{
    public const string Channel = "cleancrm_catalog_changes";

    /// <summary>True while LISTEN is active; tests and health checks can wait for it.</summary>
    public bool IsListening { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(catalog.Value.ConnectionString)
                {
                    Pooling = false,
                    KeepAlive = 30,
                    ApplicationName = "cleancrm-catalog-listener",
                };
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                connection.Notification += (_, notification) => Apply(notification.Payload);
                await connection.OpenAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                directory.InvalidateAll();
                revocations.RequestRefresh();
                IsListening = true;
                delay = TimeSpan.FromMilliseconds(250);
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException
                or System.Net.Sockets.SocketException)
            {
                IsListening = false;
                directory.InvalidateAll();
                LogListenFailed(logger, exception, delay.TotalMilliseconds);
                await Task.Delay(delay, clock, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }

        IsListening = false;
    }

    private void Apply(string payload)
    {
        var parts = payload.Split(':');
        switch (parts)
        {
            case ["org", var org] when Guid.TryParse(org, out var organizationId):
                directory.Invalidate(organizationId);

                // The database behind the same name may have been swapped (a switch restore terminates its sessions and
                // renames databases), so pooled connections are dropped too; organization rows change rarely.
                _ = pool.EvictAsync(organizationId).AsTask();
                break;
            case ["member", var org, var user] when Guid.TryParse(org, out var organizationId) && Guid.TryParse(user, out var userId):
                directory.InvalidateMembership(organizationId, userId);
                break;
            case ["revocation", _]:
                revocations.RequestRefresh();
                break;
            default:
                directory.InvalidateAll();
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Catalog change listener lost its connection; cache dropped, retrying in {DelayMs} ms")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, double delayMs);
}
