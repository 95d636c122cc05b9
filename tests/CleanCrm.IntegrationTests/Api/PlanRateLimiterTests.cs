using System.Diagnostics;
using CleanCrm.Api.Security;
using Microsoft.Extensions.Time.Testing;

namespace CleanCrm.IntegrationTests.Api;

/// <summary>The plan rate limiter's window bookkeeping (docs/adr/0007-per-instance-plan-rate-limits.md).</summary>
public sealed class PlanRateLimiterTests
{
    [Fact]
    public void Reset_counts_down_from_the_partitions_own_window_start()
    {
        var clock = new FakeTimeProvider();
        using var limiter = new PlanRateLimiter(clock);
        var (first, firstRemaining, firstReset) = limiter.Acquire("org:a", 5);
        first.IsAcquired.ShouldBeTrue();
        firstRemaining.ShouldBe(4);
        firstReset.ShouldBe(PlanRateLimiter.Window);

        clock.Advance(TimeSpan.FromSeconds(3));
        var (second, _, secondReset) = limiter.Acquire("org:a", 5);
        second.IsAcquired.ShouldBeTrue();
        secondReset.ShouldBe(TimeSpan.FromSeconds(7));

        // Another partition opened later has its own window.
        limiter.Acquire("org:b", 5).Reset.ShouldBe(PlanRateLimiter.Window);
        limiter.TrackedPartitions.ShouldBe(2);
    }

    [Fact]
    public async Task Window_starts_are_forgotten_with_the_idle_partitions_they_belong_to()
    {
        // The partitioned limiter drops a partition once it has been idle for a while (real time, its own timer);
        // the window start must go with it, or the map grows with every org and budget ever seen.
        using var limiter = new PlanRateLimiter(TimeProvider.System);
        for (var i = 0; i < 50; i++)
        {
            limiter.Acquire($"org:{i}", 100).Lease.Dispose();
        }

        limiter.TrackedPartitions.ShouldBe(50);
        var deadline = Stopwatch.StartNew();
        while (limiter.TrackedPartitions > 0 && deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            await Task.Delay(250);
        }

        limiter.TrackedPartitions.ShouldBe(0, $"idle partitions were still tracked after {deadline.Elapsed.TotalSeconds:0} s");
        limiter.Acquire("org:again", 100).Lease.IsAcquired.ShouldBeTrue();
        limiter.TrackedPartitions.ShouldBe(1);
    }
}
