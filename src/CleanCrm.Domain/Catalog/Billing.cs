namespace CleanCrm.Domain.Catalog;

/// <summary>
/// A platform admin's per-org decision about one premium feature; expires on its own when <see cref="ExpiresAt"/> passes.
/// </summary>
public sealed class FeatureOverride
{
    public Guid OrganizationId { get; set; }

    public required string FeatureKey { get; set; }

    public bool Enabled { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public bool IsActive(DateTimeOffset now) => ExpiresAt is null || ExpiresAt > now;
}

/// <summary>A platform admin's per-org limits; a null column keeps the plan's value.</summary>
public sealed class LimitOverride
{
    public Guid OrganizationId { get; set; }

    public int? Seats { get; set; }

    public long? AiTokensPerMonth { get; set; }

    public int? ApiRequestsPer10Seconds { get; set; }

    public int? BackupRetentionDays { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Stripe subscription statuses the product reacts to (Stripe sends them in snake_case).</summary>
public static class SubscriptionStatuses
{
    public const string None = "none";
    public const string Incomplete = "incomplete";
    public const string IncompleteExpired = "incomplete_expired";
    public const string Trialing = "trialing";
    public const string Active = "active";
    public const string PastDue = "past_due";
    public const string Canceled = "canceled";
    public const string Unpaid = "unpaid";
    public const string Paused = "paused";

    /// <summary>The subscription's plan applies: paid up, in trial, or in the dunning grace period.</summary>
    public static bool GrantsPlan(string status) => status is Active or Trialing or PastDue;
}

/// <summary>One organization's billing relationship: its Stripe customer and subscription as last applied.</summary>
public sealed class BillingSubscription
{
    public Guid OrganizationId { get; set; }

    public string? StripeCustomerId { get; set; }

    public string? StripeSubscriptionId { get; set; }

    public string Status { get; set; } = SubscriptionStatuses.None;

    /// <summary>The plan the subscription pays for (null without one).</summary>
    public string? PlanKey { get; set; }

    /// <summary>The plan asked for at signup; the org runs on free limits until a subscription for it is active.</summary>
    public string? RequestedPlanKey { get; set; }

    public int? Quantity { get; set; }

    public DateTimeOffset? CurrentPeriodStart { get; set; }

    public DateTimeOffset? CurrentPeriodEnd { get; set; }

    public bool CancelAtPeriodEnd { get; set; }

    public DateTimeOffset? TrialEndsAt { get; set; }

    /// <summary>When the subscription was first seen past due; the dunning job suspends after the grace period.</summary>
    public DateTimeOffset? PastDueSince { get; set; }

    /// <summary>True when billing (not an admin) suspended the org, so a payment may resume it.</summary>
    public bool SuspendedForNonPayment { get; set; }

    /// <summary>Created time of the last Stripe event applied, for the record (state is re-fetched, so order does not matter).</summary>
    public DateTimeOffset? LastEventAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>An inbound webhook event, recorded once (provider + event id) in the transaction that applies it.</summary>
public sealed class WebhookEvent
{
    public required string Provider { get; set; }

    public required string EventId { get; set; }

    public required string Type { get; set; }

    public Guid? OrganizationId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ReceivedAt { get; set; }
}

/// <summary>Usage metrics with a monthly allowance.</summary>
public static class UsageMetrics
{
    public const string AiTokens = "ai_tokens";

    public static readonly IReadOnlyList<string> All = [AiTokens];
}

/// <summary>One metered consumption, unique per org and idempotency key so a retried call counts once.</summary>
public sealed class UsageEvent
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid OrganizationId { get; set; }

    public required string Metric { get; set; }

    public long Quantity { get; set; }

    public required string IdempotencyKey { get; set; }

    public Guid RollupId { get; set; }

    public DateTimeOffset OccurredAt { get; set; }

    /// <summary>
    /// Set while the event is a reservation not yet settled (ADR 0019): past this time its process is presumed dead and
    /// the reservation sweeper releases it (docs/adr/0023-ai-proposals-summaries-and-reservation-sweeper.md).
    /// </summary>
    public DateTimeOffset? SettleBy { get; set; }
}

/// <summary>Usage of one metric by one org in one billing period (calendar month, UTC).</summary>
public sealed class UsageRollup
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid OrganizationId { get; set; }

    public required string Metric { get; set; }

    public DateTimeOffset PeriodStart { get; set; }

    public DateTimeOffset PeriodEnd { get; set; }

    public long Quantity { get; set; }

    /// <summary>When the closed period was sent to Stripe as a billing meter event (identifier = this rollup's id).</summary>
    public DateTimeOffset? ReportedAt { get; set; }

    public static (DateTimeOffset Start, DateTimeOffset End) PeriodOf(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        var start = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return (start, start.AddMonths(1));
    }
}
