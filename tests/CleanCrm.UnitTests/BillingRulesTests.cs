using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Features;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.UnitTests;

public sealed class BillingRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static BillingProfile Profile(bool planEnables, IReadOnlyList<FeatureOverrideInfo>? overrides = null,
        LimitOverride? limits = null) => new(
        Guid.NewGuid(),
        planEnables ? Plan.Pro : Plan.Free,
        new EntitlementLimits(5, 100_000, 190, 30),
        PremiumFeatures.All.ToDictionary(k => k, _ => planEnables),
        overrides ?? [],
        limits);

    [Fact]
    public void A_feature_follows_the_plan_without_an_override_and_is_off_when_the_plan_does_not_list_it()
    {
        Profile(planEnables: true).IsFeatureEnabled(PremiumFeatures.Workflows, Now).ShouldBeTrue();
        Profile(planEnables: false).IsFeatureEnabled(PremiumFeatures.Workflows, Now).ShouldBeFalse();
        Profile(planEnables: true).IsFeatureEnabled("unknown_feature", Now).ShouldBeFalse();
    }

    [Fact]
    public void An_override_wins_over_the_plan_until_it_expires()
    {
        var on = Profile(false, [new FeatureOverrideInfo(PremiumFeatures.Workflows, true, Now.AddMinutes(1))]);
        on.IsFeatureEnabled(PremiumFeatures.Workflows, Now).ShouldBeTrue();
        on.IsFeatureEnabled(PremiumFeatures.Workflows, Now.AddMinutes(1)).ShouldBeFalse();
        on.IsFeatureEnabled(PremiumFeatures.Proposals, Now).ShouldBeFalse();
        var off = Profile(true, [new FeatureOverrideInfo(PremiumFeatures.Workflows, false, null)]);
        off.IsFeatureEnabled(PremiumFeatures.Workflows, Now.AddYears(5)).ShouldBeFalse();
        off.AllFeatures(Now).Count(f => f.Value).ShouldBe(PremiumFeatures.All.Count - 1);
    }

    [Fact]
    public void Limit_overrides_replace_only_the_fields_they_set()
    {
        var limits = Profile(true, limits: new LimitOverride { Seats = 50, ApiRequestsPer10Seconds = 1000 }).Limits;
        limits.ShouldBe(new EntitlementLimits(50, 100_000, 1000, 30));
    }

    [Fact]
    public void Usage_periods_are_calendar_months_in_utc()
    {
        var (start, end) = UsageRollup.PeriodOf(new DateTimeOffset(2026, 12, 31, 23, 30, 0, TimeSpan.FromHours(-5)));
        start.ShouldBe(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero));
        end.ShouldBe(new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public void Only_premium_keys_can_gate_a_request() =>
        Should.Throw<ArgumentException>(() => new RequiresFeatureAttribute("teleportation"));

    [Fact]
    public void Active_trialing_and_past_due_subscriptions_grant_their_plan()
    {
        SubscriptionStatuses.GrantsPlan("active").ShouldBeTrue();
        SubscriptionStatuses.GrantsPlan("trialing").ShouldBeTrue();
        SubscriptionStatuses.GrantsPlan("past_due").ShouldBeTrue();
        SubscriptionStatuses.GrantsPlan("incomplete").ShouldBeFalse();
        SubscriptionStatuses.GrantsPlan("canceled").ShouldBeFalse();
    }
}
