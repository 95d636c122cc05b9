using System.Security.Claims;
using CleanCrm.Api.Security;
using Microsoft.Extensions.Options;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>The validated-token cache on its own: bounded, expiry-exact, off when sized 0.</summary>
public sealed class ValidatedTokenCacheTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static ValidatedTokenCache Cache(int size) => new(Options.Create(new IdentityOptions { ValidatedTokenCacheSize = size }));

    [Fact]
    public void Entries_live_exactly_until_the_token_expires()
    {
        var cache = Cache(10);
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "a")], "test"));
        cache.Add("t1", principal, Now.AddMinutes(5), Now);
        cache.TryGet("t1", Now.AddMinutes(5).AddTicks(-1), out var found).ShouldBeTrue();
        found.ShouldBeSameAs(principal);
        cache.TryGet("t1", Now.AddMinutes(5), out _).ShouldBeFalse();
        cache.Count.ShouldBe(0);
        cache.Add("t2", principal, Now, Now);
        cache.Count.ShouldBe(0, "an already expired token is not cached");
    }

    [Fact]
    public void A_flood_of_distinct_tokens_never_grows_the_cache_past_its_size()
    {
        var cache = Cache(100);
        var principal = new ClaimsPrincipal(new ClaimsIdentity());
        Parallel.For(0, 5_000, i => cache.Add($"token-{i}", principal, Now.AddMinutes(1 + (i % 15)), Now));
        cache.Count.ShouldBeLessThanOrEqualTo(100);
        cache.Count.ShouldBeGreaterThan(0);

        // Expired entries make room first.
        var later = Now.AddMinutes(30);
        cache.Add("fresh", principal, later.AddMinutes(1), later);
        cache.TryGet("fresh", later, out _).ShouldBeTrue();
    }

    [Fact]
    public void Size_zero_turns_the_cache_off()
    {
        var cache = Cache(0);
        cache.Add("t", new ClaimsPrincipal(), Now.AddMinutes(5), Now);
        cache.TryGet("t", Now, out _).ShouldBeFalse();
    }
}
