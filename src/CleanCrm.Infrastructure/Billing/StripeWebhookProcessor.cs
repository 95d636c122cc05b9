using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stripe;
using Plan = CleanCrm.Domain.Catalog.Plan;
using SubscriptionStatuses = CleanCrm.Domain.Catalog.SubscriptionStatuses;

namespace CleanCrm.Infrastructure.Billing;

public enum WebhookOutcome
{
    Applied,
    Duplicate,
    Ignored,
    InvalidSignature,
    NotConfigured,
}

/// <summary>
/// Verifies and applies Stripe events. Each event id goes into <c>webhook_events</c> in the same catalog transaction as its
/// effect, so a redelivery is acknowledged without acting twice. Subscription state is re-fetched from Stripe (under a
/// lock on the org's row) rather than taken from the event, so deliveries in any order converge on Stripe's current state.
/// </summary>
public sealed partial class StripeWebhookProcessor(
    IOptions<StripeOptions> options,
    StripePaymentProvider stripe,
    IDbContextFactory<CatalogDbContext> catalog,
    Email.EmailQueue mail,
    Application.Common.Email.IPublicLinks links,
    TimeProvider clock,
    ILogger<StripeWebhookProcessor> logger)
{
    public const string Provider = "stripe";

    public static readonly IReadOnlySet<string> HandledTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        EventTypes.CheckoutSessionCompleted,
        EventTypes.CustomerSubscriptionCreated,
        EventTypes.CustomerSubscriptionUpdated,
        EventTypes.CustomerSubscriptionDeleted,
        EventTypes.CustomerSubscriptionTrialWillEnd,
        EventTypes.InvoicePaid,
        EventTypes.InvoicePaymentFailed,
    };

    public async Task<WebhookOutcome> ProcessAsync(string payload, string? signature, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (string.IsNullOrEmpty(settings.WebhookSecret))
        {
            return WebhookOutcome.NotConfigured;
        }

        Event stripeEvent;
        try
        {
            // Default tolerance (300 s) refuses replays of old deliveries; API version differences are tolerated.
            stripeEvent =
                EventUtility.ConstructEvent(payload, signature ?? string.Empty, settings.WebhookSecret, throwOnApiVersionMismatch: false);
        }
        catch (StripeException exception)
        {
            LogRejected(logger, exception.Message);
            return WebhookOutcome.InvalidSignature;
        }

        await using (var probe = await catalog.CreateDbContextAsync(cancellationToken))
        {
            if (await probe.WebhookEvents.AnyAsync(e => e.Provider == Provider && e.EventId == stripeEvent.Id, cancellationToken))
            {
                return WebhookOutcome.Duplicate;
            }
        }

        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var created = new DateTimeOffset(DateTime.SpecifyKind(stripeEvent.Created, DateTimeKind.Utc));
        var inserted = await db.Database.ExecuteSqlInterpolatedAsync(
            $"INSERT INTO webhook_events (provider, event_id, type, created_at, received_at) VALUES ({Provider}, {stripeEvent.Id}, {stripeEvent.Type}, {created}, {now}) ON CONFLICT DO NOTHING",
            cancellationToken);
        if (inserted == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return WebhookOutcome.Duplicate;
        }

        var organizationId = HandledTypes.Contains(stripeEvent.Type)
            ? await ApplyAsync(db, stripeEvent, created, now, cancellationToken)
            : null;
        if (organizationId is { } org)
        {
            await db.WebhookEvents.Where(e => e.Provider == Provider && e.EventId == stripeEvent.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.OrganizationId, org), cancellationToken);
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return organizationId is null ? WebhookOutcome.Ignored : WebhookOutcome.Applied;
    }

    private async Task<Subscription?> CurrentSubscriptionAsync(Event stripeEvent, CancellationToken cancellationToken)
    {
        var (subscriptionId, fallback) = stripeEvent.Data.Object switch
        {
            Subscription s => (s.Id, s),
            Stripe.Checkout.Session session => (session.SubscriptionId, (Subscription?)null),
            Invoice invoice => (invoice.Parent?.SubscriptionDetails?.SubscriptionId, (Subscription?)null),
            _ => ((string?)null, (Subscription?)null),
        };
        if (subscriptionId is null || !HandledTypes.Contains(stripeEvent.Type))
        {
            return fallback;
        }

        try
        {
            return await stripe.GetSubscriptionAsync(subscriptionId, cancellationToken);
        }
        catch (StripeException exception) when (exception.HttpStatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return fallback;
        }
    }

    private async Task<Guid?> ApplyAsync(CatalogDbContext db, Event stripeEvent, DateTimeOffset created, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        string? customerId = null;
        Guid? organizationId = null;
        switch (stripeEvent.Data.Object)
        {
            case Stripe.Checkout.Session session:
                customerId = session.CustomerId;
                organizationId = Guid.TryParse(session.ClientReferenceId, out var fromReference) ? fromReference : null;
                break;
            case Invoice invoice:
                customerId = invoice.CustomerId;
                break;
            case Subscription s:
                customerId = s.CustomerId;
                break;
        }

        var eventSubscription = stripeEvent.Data.Object as Subscription;
        if (organizationId is null && eventSubscription?.Metadata is { } metadata
            && metadata.TryGetValue(StripePaymentProvider.OrganizationIdKey, out var fromMetadata)
            && Guid.TryParse(fromMetadata, out var parsed))
        {
            organizationId = parsed;
        }

        organizationId ??= customerId is null
            ? null
            : await db.Subscriptions.Where(s => s.StripeCustomerId == customerId).Select(s => (Guid?)s.OrganizationId)
                .FirstOrDefaultAsync(cancellationToken);
        if (organizationId is not { } id)
        {
            LogUnmatched(logger, stripeEvent.Id, stripeEvent.Type);
            return null;
        }

        // Serializes concurrent events of one org, so they neither race to create its row nor overwrite each other.
        var locked = await db.Database.SqlQuery<Guid>($"SELECT id AS \"Value\" FROM organizations WHERE id = {id} FOR UPDATE")
            .ToListAsync(cancellationToken);
        var organization = locked.Count == 0 ? null : await db.Organizations.FirstAsync(o => o.Id == id, cancellationToken);
        if (organization is null || organization.Status is OrganizationStatus.Deleting or OrganizationStatus.Deleted)
        {
            LogUnmatched(logger, stripeEvent.Id, stripeEvent.Type);
            return null;
        }

        // Re-fetched under the lock, so whichever event applies last applies Stripe's latest state.
        var subscription = await CurrentSubscriptionAsync(stripeEvent, cancellationToken);
        customerId ??= subscription?.CustomerId;
        var account = await db.Subscriptions.FirstOrDefaultAsync(s => s.OrganizationId == id, cancellationToken);
        if (account is null)
        {
            account = new BillingSubscription { OrganizationId = organization.Id, UpdatedAt = now };
            db.Subscriptions.Add(account);
        }

        account.StripeCustomerId ??= customerId;
        account.LastEventAt = account.LastEventAt is { } last && last > created ? last : created;
        account.UpdatedAt = now;
        if (subscription is not null)
        {
            ApplySubscription(account, organization, subscription, now);
        }

        // Owners hear about payment problems; queued in this transaction, so a redelivered event mails nobody twice.
        if (stripeEvent.Type is EventTypes.InvoicePaymentFailed or EventTypes.CustomerSubscriptionTrialWillEnd)
        {
            var billing = links.Billing(organization.Slug);
            await mail.AddToOwnersAsync(db, organization.Id, (email, name) => stripeEvent.Type == EventTypes.InvoicePaymentFailed
                ? Application.Common.Email.EmailTemplates.PaymentFailed(organization.Id, email, name, organization.Name,
                    options.Value.PastDueGraceDays, billing)
                : Application.Common.Email.EmailTemplates.TrialEnding(organization.Id, email, name, organization.Name, account.TrialEndsAt,
                    billing), cancellationToken);
        }

        return organization.Id;
    }

    private void ApplySubscription(BillingSubscription account, Organization organization, Subscription subscription, DateTimeOffset now)
    {
        // An old subscription's cancellation must not undo the one that replaced it.
        if (account.StripeSubscriptionId is { } current && current != subscription.Id
            && !SubscriptionStatuses.GrantsPlan(subscription.Status))
        {
            return;
        }

        var item = subscription.Items?.Data?.FirstOrDefault();
        var plan = stripe.PlanForPrice(item?.Price?.Id)
                   ?? (subscription.Metadata?.TryGetValue(StripePaymentProvider.PlanKey, out var fromMetadata) == true
                       ? fromMetadata
                       : null);
        account.StripeSubscriptionId = subscription.Id;
        account.Status = subscription.Status;
        account.PlanKey = plan;
        account.Quantity = item is null ? null : (int)item.Quantity;
        account.CurrentPeriodStart = item is null ? null : Utc(item.CurrentPeriodStart);
        account.CurrentPeriodEnd = item is null ? null : Utc(item.CurrentPeriodEnd);
        account.CancelAtPeriodEnd = subscription.CancelAtPeriodEnd;
        account.TrialEndsAt = subscription.TrialEnd is { } trialEnd ? Utc(trialEnd) : null;
        account.PastDueSince = subscription.Status == SubscriptionStatuses.PastDue ? account.PastDueSince ?? now : null;

        var newPlan = SubscriptionStatuses.GrantsPlan(subscription.Status) && plan is Plan.Pro or Plan.Enterprise
            ? plan
            : subscription.Status is SubscriptionStatuses.Canceled or SubscriptionStatuses.Unpaid or SubscriptionStatuses.IncompleteExpired
                or SubscriptionStatuses.Paused
                ? Plan.Free
                : organization.PlanKey;
        if (newPlan != organization.PlanKey)
        {
            organization.PlanKey = newPlan!;
            organization.UpdatedAt = now;
        }

        if (newPlan == account.RequestedPlanKey)
        {
            account.RequestedPlanKey = null;
        }

        if (subscription.Status is SubscriptionStatuses.Active or SubscriptionStatuses.Trialing && account.SuspendedForNonPayment)
        {
            if (organization.Status == OrganizationStatus.Suspended)
            {
                organization.Resume(now);
            }

            account.SuspendedForNonPayment = false;
        }
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe webhook refused: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe event {EventId} ({Type}) names no known organization; acknowledged")]
    private static partial void LogUnmatched(ILogger logger, string eventId, string type);
}
