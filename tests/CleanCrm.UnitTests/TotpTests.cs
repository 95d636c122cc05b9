using System.Text;
using CleanCrm.Application.Common.Identity;

namespace CleanCrm.UnitTests;

public sealed class TotpTests
{
    // RFC 6238 appendix B (SHA-1 key "12345678901234567890"); the 6-digit codes are the last 6 digits of the 8-digit ones.
    [Theory]
    [InlineData(59L, "287082")]
    [InlineData(1111111109L, "081804")]
    [InlineData(1111111111L, "050471")]
    [InlineData(1234567890L, "005924")]
    [InlineData(2000000000L, "279037")]
    [InlineData(20000000000L, "353130")]
    public void Codes_match_the_rfc_6238_test_vectors(long unixSeconds, string expected)
    {
        var key = Totp.ToBase32(Encoding.ASCII.GetBytes("12345678901234567890"));
        Totp.Code(key, Totp.StepAt(DateTimeOffset.FromUnixTimeSeconds(unixSeconds))).ShouldBe(expected);
    }

    [Fact]
    public void A_code_is_accepted_one_step_early_or_late_and_never_again_once_used()
    {
        var key = Totp.NewKey();
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_015);
        var step = Totp.StepAt(now);

        Totp.Match(key, Totp.Code(key, step - 1), now, null).ShouldBe(step - 1);
        Totp.Match(key, Totp.Code(key, step + 1), now, null).ShouldBe(step + 1);
        Totp.Match(key, " " + Totp.Code(key, step)[..3] + " " + Totp.Code(key, step)[3..], now, null).ShouldBe(step);
        Totp.Match(key, Totp.Code(key, step - 2), now, null).ShouldBeNull();
        Totp.Match(key, Totp.Code(key, step + 2), now, null).ShouldBeNull();
        Totp.Match(key, Totp.Code(key, step), now, lastUsedStep: step).ShouldBeNull("replayed");
        Totp.Match(key, Totp.Code(key, step - 1), now, lastUsedStep: step).ShouldBeNull("older than the last used");
        Totp.Match(key, "12345", now, null).ShouldBeNull();
        Totp.Match(key, "abcdef", now, null).ShouldBeNull();
        Totp.Match(key, null, now, null).ShouldBeNull();
    }

    [Fact]
    public void Keys_are_160_bit_base32_and_round_trip()
    {
        var key = Totp.NewKey();
        key.Length.ShouldBe(32);
        key.ShouldMatch("^[A-Z2-7]{32}$");
        Totp.ToBase32(Totp.FromBase32(key)).ShouldBe(key);
        Totp.FromBase32(key).Length.ShouldBe(20);
        Totp.OtpAuthUri("CleanCrm", "ada@example.com", key)
            .ShouldBe($"otpauth://totp/CleanCrm:ada%40example.com?secret={key}&issuer=CleanCrm&algorithm=SHA1&digits=6&period=30");
    }
}
