using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>
/// On connect, imports the last 30 days of Fathom meetings (<c>GET /meetings</c>, cursor paging with <c>next_cursor</c>)
/// through the same import as the webhook, so a meeting that also arrives by webhook is written once.
/// </summary>
public sealed class FathomBackfillJob(
    IDbContextFactory<CatalogDbContext> catalog,
    IntegrationTokenStore tokens,
    ProviderApi api,
    FathomWebhookHandler importer,
    ITenantScopeFactory scopes,
    TenantDbContextFactory contexts,
    IFeatures features,
    TimeProvider clock)
{
    public static readonly TimeSpan Window = TimeSpan.FromDays(30);
    private const int MaxPages = 50;

    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [60, 600, 3600])]
    [DisplayName("Fathom backfill {0}")]
    public async Task<int> RunAsync(Guid connectionId, CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var connection = await db.IntegrationConnections.AsNoTracking()
            .FirstOrDefaultAsync(c => c.Id == connectionId && c.Provider == IntegrationProviders.Fathom, cancellationToken);
        if (connection is null || await tokens.GetAsync(connectionId, cancellationToken) is not { } stored)
        {
            return 0;
        }

        var smartTasks = await features.IsEnabledAsync(connection.OrganizationId, PremiumFeatures.SmartTasks, cancellationToken);
        var after = clock.GetUtcNow().Subtract(Window).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var imported = 0;
        string? cursor = null;
        await using var scope = await scopes.BeginAsync(connection.OrganizationId, cancellationToken);
        await using var tenant = contexts.CreateForCurrentScope();
        for (var page = 0; page < MaxPages; page++)
        {
            var path = "meetings?include_transcript=true&include_summary=true&include_action_items=true&created_after="
                       + Uri.EscapeDataString(after) + (cursor is null ? string.Empty : "&cursor=" + Uri.EscapeDataString(cursor));
            var body = await api.SendAsync(IntegrationProviders.Fathom, stored.AccessToken, HttpMethod.Get, path, null, cancellationToken);
            var items = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("items", out var list)
                        && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().ToList()
                : [];
            foreach (var meeting in items)
            {
                if (meeting.TryGetProperty("recording_id", out var recording)
                    && await importer.ImportAsync(tenant, meeting, $"fathom:{recording}", smartTasks, cancellationToken))
                {
                    imported++;
                }
            }

            cursor = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("next_cursor", out var next)
                                                           && next.ValueKind == JsonValueKind.String
                ? next.GetString()
                : null;
            if (string.IsNullOrEmpty(cursor))
            {
                break;
            }
        }

        await db.IntegrationConnections.Where(c => c.Id == connectionId)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.LastSyncAt, clock.GetUtcNow()), cancellationToken);
        return imported;
    }
}

/// <summary>Queues the first sync when a provider is connected: Fathom's 30-day backfill, Google Calendar's full sync.</summary>
public sealed class SyncOnConnect(IServiceProvider services) : IIntegrationLifecycle
{
    public Task ConnectedAsync(IntegrationConnection connection, Uri apiBase, CancellationToken cancellationToken)
    {
        if (services.GetService<IBackgroundJobClient>() is not { } jobs)
        {
            return Task.CompletedTask;
        }

        var queued = new EnqueuedState(HangfireStorage.DefaultQueue);
        if (connection.Provider == IntegrationProviders.Fathom)
        {
            jobs.Create<FathomBackfillJob>(job => job.RunAsync(connection.Id, CancellationToken.None), queued);
        }
        else if (connection.Provider == IntegrationProviders.Google)
        {
            jobs.Create<GoogleCalendarSync>(job => job.SyncAsync(connection.Id, CancellationToken.None), queued);
        }

        return Task.CompletedTask;
    }

    public Task DisconnectingAsync(IntegrationConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;
}
