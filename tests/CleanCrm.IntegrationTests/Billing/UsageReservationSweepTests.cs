using CleanCrm.Application.Billing;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Billing;
using CleanCrm.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Billing;

/// <summary>
/// The sweeper of AI token reservations left by a dead process (ADR 0019, ADR 0023): unsettled past <c>settle_by</c> →
/// released from the month's rollup; fresh or settled ones untouched; a month already reported to Stripe keeps them.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class UsageReservationSweepTests(SharedPlatform platform)
{
    [Fact]
    public async Task Reservations_left_unsettled_past_their_deadline_are_released_and_the_others_kept()
    {
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var owner = await platform.CreateUserAsync();
        var org = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var reported = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var meter = api.Services.GetRequiredService<IUsageMeter>();

        var dead = (await meter.ReserveAsync(org.Id, UsageMetrics.AiTokens, 2_000, $"ai:test:{Guid.NewGuid()}")).Value;
        var running = (await meter.ReserveAsync(org.Id, UsageMetrics.AiTokens, 1_500, $"ai:test:{Guid.NewGuid()}")).Value;
        var settled = (await meter.ReserveAsync(org.Id, UsageMetrics.AiTokens, 1_000, $"ai:test:{Guid.NewGuid()}")).Value;
        await meter.SettleAsync(settled, 1_000);
        var reportedDead = (await meter.ReserveAsync(reported.Id, UsageMetrics.AiTokens, 700, $"ai:test:{Guid.NewGuid()}")).Value;
        await using (var catalog = await platform.CatalogAsync())
        {
            var events = await catalog.UsageEvents.AsNoTracking().Where(e => e.Id == dead.EventId || e.Id == running.EventId
                || e.Id == settled.EventId).ToDictionaryAsync(e => e.Id);
            events[dead.EventId].SettleBy.ShouldNotBeNull();
            events[running.EventId].SettleBy.ShouldNotBeNull();
            events[settled.EventId].SettleBy.ShouldBeNull("settling with the reserved quantity still marks it settled");
            (await RollupAsync(catalog, org.Id)).ShouldBe(4_500);

            // The process holding these two died an hour and more ago; the second org's month was already sent to Stripe.
            var past = DateTimeOffset.UtcNow.AddMinutes(-1);
            await catalog.UsageEvents.Where(e => e.Id == dead.EventId || e.Id == reportedDead.EventId)
                .ExecuteUpdateAsync(u => u.SetProperty(e => e.SettleBy, past));
            await catalog.UsageRollups.Where(r => r.Id == reportedDead.RollupId)
                .ExecuteUpdateAsync(u => u.SetProperty(r => r.ReportedAt, DateTimeOffset.UtcNow));
        }

        var job = api.Services.GetRequiredService<UsageReservationSweepJob>();
        (await job.RunAsync(CancellationToken.None)).ShouldBeGreaterThanOrEqualTo(1);
        (await job.RunAsync(CancellationToken.None)).ShouldBe(0, "nothing is released twice");

        await using (var catalog = await platform.CatalogAsync())
        {
            (await catalog.UsageEvents.AnyAsync(e => e.Id == dead.EventId)).ShouldBeFalse();
            (await catalog.UsageEvents.AsNoTracking().SingleAsync(e => e.Id == running.EventId)).SettleBy.ShouldNotBeNull();
            (await RollupAsync(catalog, org.Id)).ShouldBe(2_500, "the running reservation and the settled call stay counted");

            var kept = await catalog.UsageEvents.AsNoTracking().SingleAsync(e => e.Id == reportedDead.EventId);
            kept.Quantity.ShouldBe(700);
            kept.SettleBy.ShouldBeNull();
            (await RollupAsync(catalog, reported.Id)).ShouldBe(700, "a reported month keeps what Stripe was sent");
        }

        // The dead process coming back to settle finds its reservation gone and charges nothing.
        await meter.SettleAsync(dead, 1_234);
        await using (var catalog = await platform.CatalogAsync())
        {
            (await RollupAsync(catalog, org.Id)).ShouldBe(2_500);
        }
    }

    private static Task<long> RollupAsync(Infrastructure.Persistence.Catalog.CatalogDbContext catalog, Guid organizationId) =>
        catalog.UsageRollups.AsNoTracking().Where(r => r.OrganizationId == organizationId && r.Metric == UsageMetrics.AiTokens)
            .SumAsync(r => r.Quantity);
}
