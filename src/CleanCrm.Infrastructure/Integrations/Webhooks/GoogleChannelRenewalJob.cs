using System.ComponentModel;
using System.Globalization;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>
/// Renews Google Calendar push channels before they expire (Google gives them about a week and never extends one): every
/// hour, each connected Google connection whose channel expires within <see cref="RenewBefore"/> gets a new channel (watch),
/// its id and token replace the old ones with the tokens, and only then is the old channel stopped — so there is no moment
/// without a channel, and a notification of the old channel after the switch is answered 404. Runs under the connection's
/// row lock (<c>FOR UPDATE SKIP LOCKED</c>, as the token refresh), so the two never overwrite each other's secret.
/// </summary>
public sealed partial class GoogleChannelRenewalJob(
    IDbContextFactory<CatalogDbContext> catalog,
    IntegrationTokenStore tokens,
    WebhookRegistrations registrations,
    TimeProvider clock,
    ILogger<GoogleChannelRenewalJob> logger)
{
    public const string RecurringJobId = "integration-google-channel-renewal";
    public static readonly TimeSpan RenewBefore = TimeSpan.FromDays(1);

    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Renew Google Calendar push channels")]
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var connections = await db.IntegrationConnections.AsNoTracking()
            .Where(c => c.Provider == IntegrationProviders.Google && c.Status == IntegrationStatuses.Connected)
            .OrderBy(c => c.Id).Select(c => c.Id).ToListAsync(cancellationToken);
        var renewed = 0;
        foreach (var id in connections)
        {
            try
            {
                if (await RenewOneAsync(id, cancellationToken))
                {
                    renewed++;
                }
            }
            catch (HttpRequestException exception)
            {
                // The old channel keeps working until it expires; the next run (hourly) tries again.
                LogRenewalFailed(logger, exception, id);
            }
        }

        return renewed;
    }

    /// <summary>Renews one connection's channel when it expires within <see cref="RenewBefore"/>; false when not due.</summary>
    public async Task<bool> RenewOneAsync(Guid connectionId, CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var connection = await db.IntegrationConnections
            .FromSql($"SELECT * FROM integration_connections WHERE id = {connectionId} FOR UPDATE SKIP LOCKED")
            .FirstOrDefaultAsync(cancellationToken);
        if (connection is null || connection.Status != IntegrationStatuses.Connected
            || await tokens.GetAsync(connectionId, cancellationToken) is not { } stored
            || stored.Extra.GetValueOrDefault(WebhookReceiver.ChannelIdKey) is not { Length: > 0 } oldChannel
            || !IsDue(stored.Extra.GetValueOrDefault(GoogleChannels.ExpirationKey)))
        {
            return false;
        }

        if (stored.Extra.GetValueOrDefault(GoogleChannels.AddressKey) is not { Length: > 0 } address)
        {
            // Channels created before the address was kept: disconnecting and connecting again sets it.
            connection.LastError = "The push channel cannot be renewed (its address is unknown); connect Google Calendar again.";
            connection.UpdatedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return false;
        }

        var extra = new Dictionary<string, string>(stored.Extra, StringComparer.Ordinal);
        await registrations.WatchGoogleAsync(connectionId, stored.AccessToken, address, extra, cancellationToken);
        await tokens.SetAsync(connectionId, stored with { Extra = extra }, cancellationToken);
        await registrations.StopGoogleChannelAsync(stored.AccessToken, oldChannel,
            stored.Extra.GetValueOrDefault(GoogleChannels.ResourceIdKey), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogRenewed(logger, connection.OrganizationId);
        return true;
    }

    /// <summary>Registers the recurring job (hourly; channels live about a week and are renewed a day ahead).</summary>
    public static void Register(IRecurringJobManager manager)
    {
        ArgumentNullException.ThrowIfNull(manager);
        manager.AddOrUpdate<GoogleChannelRenewalJob>(RecurringJobId, job => job.RunAsync(CancellationToken.None), "11 * * * *");
    }

    // Google answers the expiry as milliseconds since the epoch; a channel without one is renewed (it may be gone already).
    private bool IsDue(string? expiration) =>
        !long.TryParse(expiration, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds)
        || DateTimeOffset.FromUnixTimeMilliseconds(milliseconds) - clock.GetUtcNow() < RenewBefore;

    [LoggerMessage(Level = LogLevel.Information, Message = "Google Calendar push channel of organization {OrganizationId} renewed")]
    private static partial void LogRenewed(ILogger logger, Guid organizationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the Google Calendar push channel of connection {ConnectionId} failed")]
    private static partial void LogRenewalFailed(ILogger logger, Exception exception, Guid connectionId);
}
