using System.ComponentModel;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Hangfire.Server;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>The outcome of one <c>chat.postMessage</c>.</summary>
public sealed record SlackPostResult(bool Sent, TimeSpan? RetryAfter, string? Error);

/// <summary>
/// Posts notifications to the organization's Slack channel (chosen during consent) with <c>chat.postMessage</c>. Slack
/// answers HTTP 200 with <c>"ok": false</c> for failures, so <c>ok</c> decides, not the status; a 429 carries
/// <c>Retry-After</c> (seconds), and the job posts again after that long. Dead tokens mark the connection.
/// A message Slack accepted is recorded on the job at once (the job parameter <see cref="PostedParameter"/>, its own
/// commit), so the same job handed out again after a crash (Hangfire's invisibility timeout) does not post it twice
/// (docs/reliability.md, scenario 1). Slack has no idempotency key: a crash after the request left and before its answer
/// was read still posts it again (docs/INTEGRATIONS.md).
/// </summary>
public sealed partial class SlackNotificationJob(
    IDbContextFactory<CatalogDbContext> catalog,
    IntegrationTokenStore tokens,
    IHttpClientFactory httpClients,
    IOptions<IntegrationOptions> options,
    IServiceProvider services,
    TimeProvider clock,
    ILogger<SlackNotificationJob> logger)
{
    /// <summary>The job parameter recording when Slack accepted this job's message (set right after <c>"ok": true</c>).</summary>
    public const string PostedParameter = "SlackPostedAt";

    private const int MaxAttempts = 8;

    /// <summary>A post without a job context (a workflow action's, or a job queued before the posted marker existed).</summary>
    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [60, 300, 1800])]
    [DisplayName("Slack notification for {0}")]
    public Task<SlackPostResult> RunAsync(Guid organizationId, string text, int attempt, CancellationToken cancellationToken) =>
        RunAsync(organizationId, text, attempt, null, cancellationToken);

    /// <summary>
    /// One post; <paramref name="context"/> is the job's (Hangfire passes it in place of the <c>null</c> it was queued
    /// with): a job that already posted its message (recorded on it) returns at once without posting again.
    /// </summary>
    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [60, 300, 1800])]
    [DisplayName("Slack notification for {0}")]
    public async Task<SlackPostResult> RunAsync(Guid organizationId, string text, int attempt, PerformContext? context,
        CancellationToken cancellationToken)
    {
        if (context?.GetJobParameter<DateTimeOffset?>(PostedParameter) is { } postedAt)
        {
            LogAlreadyPosted(logger, organizationId, context.BackgroundJob.Id, postedAt);
            return new SlackPostResult(true, null, null);
        }

        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var connection = await db.IntegrationConnections.AsNoTracking().FirstOrDefaultAsync(
            c => c.OrganizationId == organizationId && c.Provider == IntegrationProviders.Slack, cancellationToken);
        if (connection?.Status != IntegrationStatuses.Connected || await tokens.GetAsync(connection.Id, cancellationToken) is not { } stored
            || stored.Extra.GetValueOrDefault("channel_id") is not { Length: > 0 } channel)
        {
            return new SlackPostResult(false, null, "not_connected");
        }

        var result = await PostAsync(stored.AccessToken, channel, text, cancellationToken);
        if (result.Sent)
        {
            // Before anything else (its own commit): from here on a crash must not post this message again.
            context?.SetJobParameter(PostedParameter, clock.GetUtcNow());
        }
        else if (result.RetryAfter is { } wait && attempt < MaxAttempts && services.GetService<IBackgroundJobClient>() is { } jobs)
        {
            // Slack asks to wait; a scheduled job does, instead of a worker thread.
            jobs.Create<SlackNotificationJob>(job => job.RunAsync(organizationId, text, attempt + 1, null, CancellationToken.None),
                new ScheduledState(wait));
            LogRateLimited(logger, organizationId, wait.TotalSeconds);
        }
        else if (result.Error is { } error)
        {
            var dead = error is "invalid_auth" or "token_revoked" or "account_inactive" or "token_expired";
            await db.IntegrationConnections.Where(c => c.Id == connection.Id).ExecuteUpdateAsync(s => s
                .SetProperty(c => c.Status, c => dead ? IntegrationStatuses.NeedsReauth : c.Status)
                .SetProperty(c => c.LastError, $"chat.postMessage: {error}")
                .SetProperty(c => c.UpdatedAt, clock.GetUtcNow()), cancellationToken);
        }

        return result;
    }

    /// <summary>One <c>chat.postMessage</c> call.</summary>
    public async Task<SlackPostResult> PostAsync(string botToken, string channel, string text, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{options.Value.Slack.ApiBaseUrl!.TrimEnd('/')}/chat.postMessage")
        {
            Content = JsonContent.Create(new { channel, text, unfurl_links = false }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", botToken);
        using var response = await httpClients.CreateClient(OAuthClient.HttpClientName).SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(30);
            return new SlackPostResult(false, wait, "ratelimited");
        }

        if (!response.IsSuccessStatusCode)
        {
            return new SlackPostResult(false, null, $"http_{(int)response.StatusCode}");
        }

        using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken),
            cancellationToken: cancellationToken);
        return body.RootElement.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True
            ? new SlackPostResult(true, null, null)
            : new SlackPostResult(false, null,
                body.RootElement.TryGetProperty("error", out var error) ? error.GetString() ?? "unknown_error" : "unknown_error");
    }

    /// <summary>Queues a notification for the organization (nothing when Slack is not connected: the job finds no channel).</summary>
    public static void Enqueue(IServiceProvider services, Guid organizationId, string text)
    {
        if (services.GetService<IBackgroundJobClient>() is { } jobs)
        {
            jobs.Create<SlackNotificationJob>(job => job.RunAsync(organizationId, text, 1, null, CancellationToken.None),
                new EnqueuedState(HangfireStorage.DefaultQueue));
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Slack notification job {JobId} of organization {OrganizationId} was posted at {PostedAt}; not posted again")]
    private static partial void LogAlreadyPosted(ILogger logger, Guid organizationId, string jobId, DateTimeOffset postedAt);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Slack rate-limited a notification of organization {OrganizationId}; posting again in {Seconds} s")]
    private static partial void LogRateLimited(ILogger logger, Guid organizationId, double seconds);
}
