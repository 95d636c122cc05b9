using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing;

public sealed record EntitlementUsage(int Seats, long AiTokens, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd);

/// <summary>The answer of <c>GET /api/v1/billing/entitlements</c>: plan, effective limits and usage this period.</summary>
public sealed record EntitlementsDto(string Plan, EntitlementLimits Limits, EntitlementUsage Usage);

/// <summary>
/// Effective limits (plan + admin overrides) and current usage of an organization, for handlers that enforce them:
/// <c>await entitlements.CheckSeatsAsync(orgId, 1, ct)</c> before adding a member.
/// </summary>
public interface IEntitlements
{
    /// <summary>Plan, limits and usage, or null for an unknown organization.</summary>
    Task<EntitlementsDto?> GetAsync(Guid organizationId, CancellationToken cancellationToken = default);

    /// <summary>Null when <paramref name="additionalSeats"/> more members fit; otherwise a 402 <c>plan_limit_reached</c> error.</summary>
    Task<Error?> CheckSeatsAsync(Guid organizationId, int additionalSeats = 1, CancellationToken cancellationToken = default);
}

public sealed class Entitlements(IBillingProfiles profiles, ICatalogDbContext db, TimeProvider clock) : IEntitlements
{
    public async Task<EntitlementsDto?> GetAsync(Guid organizationId, CancellationToken cancellationToken = default)
    {
        if (await profiles.GetAsync(organizationId, cancellationToken) is not { } profile)
        {
            return null;
        }

        var (start, end) = UsageRollup.PeriodOf(clock.GetUtcNow());
        var seats = await db.Memberships.CountAsync(m => m.OrganizationId == organizationId, cancellationToken);
        var tokens = await db.UsageRollups
            .Where(r => r.OrganizationId == organizationId && r.Metric == UsageMetrics.AiTokens && r.PeriodStart == start)
            .SumAsync(r => (long?)r.Quantity, cancellationToken) ?? 0;
        return new EntitlementsDto(profile.PlanKey, profile.Limits, new EntitlementUsage(seats, tokens, start, end));
    }

    public async Task<Error?> CheckSeatsAsync(Guid organizationId, int additionalSeats = 1, CancellationToken cancellationToken = default)
    {
        if (await profiles.GetAsync(organizationId, cancellationToken) is not { } profile)
        {
            return Error.NotFound("Organization", organizationId);
        }

        if (profile.Limits.Seats is not { } seats)
        {
            return null;
        }

        var used = await db.Memberships.CountAsync(m => m.OrganizationId == organizationId, cancellationToken);
        return used + additionalSeats <= seats ? null : BillingErrors.LimitReached("seats", seats, used, profile.PlanKey);
    }
}

/// <summary>Records metered consumption (AI tokens) against the monthly allowance, once per idempotency key.</summary>
public interface IUsageMeter
{
    /// <summary>
    /// Consumes <paramref name="quantity"/> of <paramref name="metric"/> if it fits this period's allowance. A repeated
    /// <paramref name="idempotencyKey"/> returns the first receipt (<see cref="UsageReceipt.Duplicate"/>) without counting
    /// again. Over the allowance: 402 <c>plan_limit_reached</c> and nothing is recorded.
    /// </summary>
    Task<Result<UsageReceipt>> TryConsumeAsync(Guid organizationId, string metric, long quantity, string idempotencyKey,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Reserves <paramref name="quantity"/> (an upper bound of what a call may cost) before the call: one conditional
    /// UPDATE adds it to this period's rollup only while the total stays within the allowance, so parallel callers can
    /// never overshoot. The reservation counts as usage until <see cref="SettleAsync"/> replaces it with the real
    /// quantity. Over the allowance: 402 <c>plan_limit_reached</c> and nothing is recorded.
    /// </summary>
    Task<Result<UsageReservation>> ReserveAsync(Guid organizationId, string metric, long quantity, string idempotencyKey,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces a reservation with the quantity really used (0 releases it: the call cost nothing). Settling twice, or
    /// with the reserved quantity, changes nothing.
    /// </summary>
    Task SettleAsync(UsageReservation reservation, long actualQuantity, CancellationToken cancellationToken = default);
}

/// <summary>A reservation of metered usage: the usage event holding it and the rollup it was added to.</summary>
public sealed record UsageReservation(Guid OrganizationId, string Metric, Guid EventId, Guid RollupId, long Quantity,
    long UsedThisPeriod, long? Limit);

public sealed record UsageReceipt(string Metric, long Quantity, long UsedThisPeriod, long? Limit, DateTimeOffset PeriodStart,
    bool Duplicate);

public static class BillingErrors
{
    public const string BillingNotConfigured = "billing_not_configured";
    public const string BillingUnavailable = "billing_unavailable";

    public static Error LimitReached(string limit, long allowed, long used, string plan) =>
        new(ErrorType.PaymentRequired, ErrorCodes.PlanLimitReached,
            $"The {plan} plan allows {allowed} {limit.Replace('_', ' ')} and {used} are used; upgrade with POST /api/v1/billing/checkout " +
                $"or ask support to raise the limit.")
        {
            Errors = new Dictionary<string, string[]> { [limit] = [$"limit {allowed} reached ({used} used) on the {plan} plan."] },
        };

    public static Error NotConfigured() =>
        new(ErrorType.Unavailable, BillingNotConfigured, "Billing is not configured on this deployment (CleanCrm:Stripe).");
}
