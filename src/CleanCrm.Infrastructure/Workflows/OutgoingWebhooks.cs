using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Application.Webhooks;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Email;
using CleanCrm.Infrastructure.Integrations.Enrichment;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Persistence.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Hangfire.States;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Workflows;

/// <summary>Signing secrets of outgoing webhooks: <c>whsec_</c> + base64 of 32 random bytes, kept as Data Protection ciphertext.</summary>
public sealed class WebhookSecrets(IDataProtectionProvider dataProtection) : IWebhookSecrets
{
    internal const string ProtectorPurpose = "CleanCrm.Webhooks.SigningSecret.v1";

    private readonly IDataProtector _protector = dataProtection.CreateProtector(ProtectorPurpose);

    public WebhookSecret Create()
    {
        var secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        return new WebhookSecret(secret, _protector.Protect(secret));
    }

    public string Unprotect(string protectedSecret) => _protector.Unprotect(protectedSecret);
}

/// <summary>The SSRF rules of <see cref="SafeHttpFetcher"/> applied to a URL a user saves (checked again at every connect).</summary>
public sealed class OutboundTargets(SafeHttpFetcher fetcher) : IOutboundTargets
{
    public async Task<string?> RefusalAsync(Uri url, CancellationToken cancellationToken)
    {
        var refusal = fetcher.Refuse(url);
        if (refusal == FetchRefusal.Scheme)
        {
            return $"'{url}' is not an http or https URL.";
        }

        return refusal == FetchRefusal.PrivateAddress || !await fetcher.HostAllowedAsync(url.IdnHost, cancellationToken)
            ? $"'{url}' points to a private, loopback or link-local address, which the platform does not call."
            : null;
    }
}

/// <summary>Queues delivery attempts: the first one and retries (scheduled), and manual redeliveries.</summary>
public sealed partial class WebhookDeliveryQueue(IServiceProvider services, ILogger<WebhookDeliveryQueue> logger) : IWebhookDeliveryQueue
{
    public void Enqueue(Guid organizationId, Guid deliveryId, TimeSpan? delay) => Create(organizationId, deliveryId, false, delay);

    public void Redeliver(Guid organizationId, Guid deliveryId) => Create(organizationId, deliveryId, true, null);

    // A failure leaves the delivery pending with its next attempt time; the organization's next dispatcher run queues it.
    private void Create(Guid organizationId, Guid deliveryId, bool manual, TimeSpan? delay) =>
        JobQueuing.TryCreate<WebhookDeliveryJob>(services,
            job => job.DeliverAsync(organizationId, deliveryId, manual, CancellationToken.None), delay,
            exception => LogEnqueueFailed(logger, exception, deliveryId));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not queue webhook delivery {DeliveryId}; the next dispatch re-queues it")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, Guid deliveryId);
}

/// <summary>
/// The outgoing-webhooks consumer of the outbox: one pending delivery per event and subscribed, enabled endpoint, in the
/// transaction that marks the events consumed; the first attempts are queued after commit. Also re-queues deliveries whose
/// attempt is overdue (a lost job). Organizations without the <c>workflows</c> feature get no deliveries.
/// </summary>
public sealed class WebhookEventConsumer(IFeatures features, WebhookDeliveryQueue queue, TimeProvider clock) : IDomainEventConsumer
{
    public const string ConsumerName = "webhooks";

    public string Name => ConsumerName;

    public async Task<Action?> ConsumeAsync(Guid organizationId, TenantDbContext db, IReadOnlyList<DomainEvent> events,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var overdue = await db.WebhookDeliveries.AsNoTracking()
            .Where(d => d.Status == WebhookDeliveryStatus.Pending && d.NextAttemptAt < now.AddMinutes(-5))
            .OrderBy(d => d.NextAttemptAt).Select(d => d.Id).Take(100).ToListAsync(cancellationToken);
        var endpoints = await db.WebhookEndpoints.AsNoTracking()
            .Where(e => e.DeletedAt == null && e.Status == WebhookEndpointStatus.Enabled).ToListAsync(cancellationToken);
        var created = new List<Guid>();
        if (endpoints.Count > 0 && await features.IsEnabledAsync(organizationId, PremiumFeatures.Workflows, cancellationToken))
        {
            foreach (var domainEvent in events)
            {
                foreach (var endpoint in endpoints.Where(e => e.Events.Contains(domainEvent.Type)))
                {
                    var delivery = new WebhookDelivery
                    {
                        EndpointId = endpoint.Id,
                        EventId = domainEvent.Id,
                        EventType = domainEvent.Type,
                        Payload = Body(domainEvent),
                        Status = WebhookDeliveryStatus.Pending,
                        CreatedAt = now,
                        NextAttemptAt = now,
                    };
                    db.WebhookDeliveries.Add(delivery);
                    created.Add(delivery.Id);
                }
            }
        }

        return JobQueuing.QueueAfterCommit(created.Concat(overdue), id => queue.Enqueue(organizationId, id, null));
    }

    /// <summary>The Standard Webhooks payload: <c>{type, timestamp, data}</c>, data being the record as the API shows it.</summary>
    public static string Body(DomainEvent domainEvent) => new JsonObject
    {
        ["type"] = domainEvent.Type,
        ["timestamp"] = domainEvent.OccurredAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        ["data"] = JsonNode.Parse(domainEvent.Data),
    }.ToJsonString();
}

/// <summary>
/// One attempt of one delivery, signed with the Standard Webhooks scheme (<c>webhook-id</c> = <c>msg_</c> + delivery id, the
/// same on every attempt so receivers can de-duplicate; <c>webhook-timestamp</c>; <c>webhook-signature: v1,&lt;base64&gt;</c>) and
/// sent through <see cref="SafeHttpFetcher"/>. A 2xx delivers it; anything else schedules the next attempt with exponential
/// back-off (<see cref="RetryDelays"/>, about three days in all); after the last one the delivery fails, the endpoint is
/// disabled and the owners are mailed. The row is locked while sending, so a duplicate job sends nothing.
/// </summary>
public sealed partial class WebhookDeliveryJob(
    ITenantScopeFactory scopes,
    TenantDbContextFactory contexts,
    SafeHttpFetcher http,
    WebhookSecrets secrets,
    WebhookDeliveryQueue queue,
    IDbContextFactory<CatalogDbContext> catalog,
    EmailQueue mail,
    TimeProvider clock,
    ILogger<WebhookDeliveryJob> logger)
{
    /// <summary>Waits after the 1st, 2nd, ... failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 20 h (≈ 72 h).</summary>
    public static readonly TimeSpan[] RetryDelays =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(5),
        TimeSpan.FromHours(10), TimeSpan.FromHours(14), TimeSpan.FromHours(20), TimeSpan.FromHours(20),
    ];

    public static int MaxAttempts => RetryDelays.Length + 1;

    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [30, 300, 1800])]
    [DisplayName("Deliver webhook {1} of {0}")]
    public async Task<WebhookDeliveryStatus?> DeliverAsync(Guid organizationId, Guid deliveryId, bool manual,
        CancellationToken cancellationToken)
    {
        await using var scope = await scopes.BeginAsync(organizationId, cancellationToken);
        await using var db = contexts.CreateForCurrentScope();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var delivery = await db.WebhookDeliveries
            .FromSql($"SELECT * FROM webhook_deliveries WHERE id = {deliveryId} FOR UPDATE SKIP LOCKED")
            .FirstOrDefaultAsync(cancellationToken);
        var now = clock.GetUtcNow();
        // Sent, given up, being sent right now, or an early duplicate of a scheduled retry.
        if (delivery is null || (!manual && (delivery.Status != WebhookDeliveryStatus.Pending || delivery.NextAttemptAt > now)))
        {
            return delivery?.Status;
        }

        var endpoint = await db.WebhookEndpoints.FirstOrDefaultAsync(e => e.Id == delivery.EndpointId, cancellationToken);
        if (endpoint is null || endpoint.DeletedAt is not null || endpoint.Status == WebhookEndpointStatus.Disabled)
        {
            delivery.Status = delivery.Status == WebhookDeliveryStatus.Succeeded ? delivery.Status : WebhookDeliveryStatus.Failed;
            delivery.NextAttemptAt = null;
            delivery.LastError ??= endpoint?.DeletedAt is null ? "The endpoint is disabled." : "The endpoint was deleted.";
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return delivery.Status;
        }

        var result = await SendAsync(endpoint, delivery, now, cancellationToken);
        var attempt = new WebhookDeliveryAttempt
        {
            DeliveryId = delivery.Id,
            AttemptedAt = now,
            ResponseStatus = result.Status,
            Error = result.Error,
            DurationMs = result.DurationMs,
            Manual = manual,
        };
        db.WebhookDeliveryAttempts.Add(attempt);
        delivery.LastAttemptAt = now;
        delivery.LastResponseStatus = result.Status;
        delivery.LastError = result.Error;
        TimeSpan? retryIn = null;
        var disable = false;
        if (result.Error is null)
        {
            delivery.Status = WebhookDeliveryStatus.Succeeded;
            delivery.DeliveredAt = now;
            delivery.NextAttemptAt = null;
        }
        else if (!manual)
        {
            // Manual attempts are extra: they neither use up nor restart the automatic schedule.
            delivery.Attempts++;
            if (delivery.Attempts < MaxAttempts)
            {
                retryIn = RetryDelays[delivery.Attempts - 1];
                delivery.NextAttemptAt = now + retryIn;
            }
            else
            {
                delivery.Status = WebhookDeliveryStatus.Failed;
                delivery.NextAttemptAt = null;
                disable = true;
                endpoint.Status = WebhookEndpointStatus.Disabled;
                endpoint.DisabledAt = now;
                endpoint.DisabledReason = Truncate($"Every attempt for three days failed; last: {result.Error}", 500);
                endpoint.UpdatedAt = now;
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (retryIn is { } wait)
        {
            queue.Enqueue(organizationId, delivery.Id, wait);
        }

        if (disable)
        {
            LogDisabled(logger, endpoint.Id, organizationId, delivery.Attempts);
            await MailOwnersAsync(organizationId, endpoint, cancellationToken);
        }

        return delivery.Status;
    }

    private async Task<(int? Status, string? Error, int DurationMs)> SendAsync(WebhookEndpoint endpoint, WebhookDelivery delivery,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(delivery.Payload);
        var id = $"msg_{delivery.Id:N}";
        var timestamp = now.ToUnixTimeSeconds();
        var signature = WebhookSignatures.SignStandardWebhook(secrets.Unprotect(endpoint.ProtectedSecret), id, timestamp, body);
        var started = Stopwatch.GetTimestamp();
        var result = await http.PostAsync(new Uri(endpoint.Url), body, "application/json",
            [
                new("webhook-id", id),
                new("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture)),
                new("webhook-signature", signature),
            ],
            cancellationToken);
        var duration = (int)Math.Min(int.MaxValue, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        var error = result.Refusal switch
        {
            FetchRefusal.None when result.StatusCode is >= 200 and < 300 => null,
            FetchRefusal.None => $"HTTP {result.StatusCode}",
            FetchRefusal.PrivateAddress => "The URL resolves to a private, loopback or link-local address.",
            FetchRefusal.Scheme => "The URL is not http or https.",
            _ => Truncate($"Request failed: {result.Error ?? "no response"}", 500),
        };
        return (result.StatusCode, error, duration);
    }

    private async Task MailOwnersAsync(Guid organizationId, WebhookEndpoint endpoint, CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var organization = await db.Organizations.AsNoTracking().Where(o => o.Id == organizationId).Select(o => o.Name)
            .FirstOrDefaultAsync(cancellationToken) ?? "your organization";
        await mail.AddToOwnersAsync(db, organizationId, (to, name) =>
            WebhookEmails.EndpointDisabled(organizationId, to, name, organization, endpoint.Url, endpoint.DisabledReason ?? "failures"),
            cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
    }

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Webhook endpoint {EndpointId} of organization {OrganizationId} disabled after {Attempts} failed attempts")]
    private static partial void LogDisabled(ILogger logger, Guid endpointId, Guid organizationId, int attempts);
}
