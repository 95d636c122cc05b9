using System.Text;
using CleanCrm.Infrastructure.Integrations.Webhooks;

namespace CleanCrm.UnitTests;

/// <summary>The webhook signature schemes against the vectors their specifications publish, and their refusals.</summary>
public sealed class WebhookSignatureTests
{
    // The Standard Webhooks specification's test vector (also used by its reference libraries).
    private const string StandardSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string StandardId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const string StandardTimestamp = "1614265330";
    private const string StandardSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    private static readonly byte[] StandardBody = Encoding.UTF8.GetBytes("{\"test\": 2432232314}");
    private static readonly DateTimeOffset StandardNow = DateTimeOffset.FromUnixTimeSeconds(1614265330);

    // Slack's documented example ("Verifying requests from Slack").
    private const string SlackSecret = "8f742231b10e8888abcd99yyyzzz85a5";
    private const string SlackTimestamp = "1531420618";
    private const string SlackSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    private static readonly byte[] SlackBody = Encoding.UTF8.GetBytes(
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar"
        + "&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com"
        + "%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
        + "803a0bc887a14d10d2c447fce8b6703c");
    private static readonly DateTimeOffset SlackNow = DateTimeOffset.FromUnixTimeSeconds(1531420618);

    [Fact]
    public void Standard_webhooks_vector_verifies_and_signs_identically()
    {
        WebhookSignatures.VerifyStandardWebhook(StandardSecret, StandardId, StandardTimestamp, StandardSignature, StandardBody, StandardNow)
            .ShouldBeTrue();
        WebhookSignatures.SignStandardWebhook(StandardSecret, StandardId, 1614265330, StandardBody).ShouldBe(StandardSignature);
    }

    [Fact]
    public void Standard_webhooks_accepts_any_of_several_signatures_and_ignores_other_versions()
    {
        var several = $"v1a,{StandardSignature[3..]} v1,bm90IHRoZSByaWdodCBzaWduYXR1cmUgYXQgYWxsIQ== {StandardSignature}";
        WebhookSignatures.VerifyStandardWebhook(StandardSecret, StandardId, StandardTimestamp, several, StandardBody, StandardNow)
            .ShouldBeTrue();
        WebhookSignatures.VerifyStandardWebhook(StandardSecret, StandardId, StandardTimestamp, $"v2,{StandardSignature[3..]}",
            StandardBody, StandardNow).ShouldBeFalse();
    }

    [Theory]
    [InlineData("body")]
    [InlineData("id")]
    [InlineData("secret")]
    [InlineData("signature")]
    [InlineData("old")]
    [InlineData("future")]
    [InlineData("timestamp")]
    [InlineData("missing")]
    public void Standard_webhooks_refuses_anything_changed_or_out_of_tolerance(string change)
    {
        var body = change == "body" ? Encoding.UTF8.GetBytes("{\"test\": 2432232315}") : StandardBody;
        var id = change == "id" ? "msg_other" : StandardId;
        var secret = change == "secret" ? "whsec_" + Convert.ToBase64String(new byte[24]) : StandardSecret;
        var signature = change switch
        {
            // A changed byte (not just the padding bits of the last character, which decode to the same bytes).
            "signature" => "v1,g1hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "missing" => null,
            _ => StandardSignature,
        };
        var now = change switch
        {
            "old" => StandardNow.AddMinutes(5).AddSeconds(1),
            "future" => StandardNow.AddMinutes(-5).AddSeconds(-1),
            _ => StandardNow,
        };
        var timestamp = change == "timestamp" ? "16142653a0" : StandardTimestamp;
        WebhookSignatures.VerifyStandardWebhook(secret, id, timestamp, signature, body, now).ShouldBeFalse(change);
    }

    [Fact]
    public void Standard_webhooks_accepts_the_edge_of_the_tolerance()
    {
        WebhookSignatures.VerifyStandardWebhook(StandardSecret, StandardId, StandardTimestamp, StandardSignature, StandardBody,
            StandardNow.AddMinutes(5)).ShouldBeTrue();
    }

    [Fact]
    public void Slack_documented_example_verifies_and_is_refused_when_changed_or_old()
    {
        WebhookSignatures.VerifySlack(SlackSecret, SlackTimestamp, SlackSignature, SlackBody, SlackNow).ShouldBeTrue();
        WebhookSignatures.VerifySlack(SlackSecret, SlackTimestamp, SlackSignature.ToUpperInvariant().Replace("V0=", "v0="), SlackBody,
            SlackNow).ShouldBeTrue();
        WebhookSignatures.VerifySlack(SlackSecret, SlackTimestamp, SlackSignature, [.. SlackBody, (byte)' '], SlackNow).ShouldBeFalse();
        WebhookSignatures.VerifySlack("another-secret", SlackTimestamp, SlackSignature, SlackBody, SlackNow).ShouldBeFalse();
        WebhookSignatures.VerifySlack(SlackSecret, "1531420619", SlackSignature, SlackBody, SlackNow).ShouldBeFalse();
        WebhookSignatures.VerifySlack(SlackSecret, SlackTimestamp, SlackSignature, SlackBody, SlackNow.AddMinutes(6)).ShouldBeFalse();
        WebhookSignatures.VerifySlack(SlackSecret, SlackTimestamp, "v1=" + SlackSignature[3..], SlackBody, SlackNow).ShouldBeFalse();
        WebhookSignatures.VerifySlack(SlackSecret, SlackTimestamp, "v0=zz", SlackBody, SlackNow).ShouldBeFalse();
    }

    [Fact]
    public void SavvyCal_signature_is_the_hex_hmac_of_the_body_in_either_case()
    {
        var body = Encoding.UTF8.GetBytes("{\"type\":\"event.created\",\"id\":\"evt_1\"}");
        var hex = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes("savvy-secret"), body));
        WebhookSignatures.VerifySavvyCal("savvy-secret", $"sha256={hex}", body).ShouldBeTrue();
        WebhookSignatures.VerifySavvyCal("savvy-secret", $"sha256={hex.ToUpperInvariant()}", body).ShouldBeTrue();
        WebhookSignatures.VerifySavvyCal("savvy-secret", hex, body).ShouldBeFalse();
        WebhookSignatures.VerifySavvyCal("other-secret", $"sha256={hex}", body).ShouldBeFalse();
        WebhookSignatures.VerifySavvyCal("savvy-secret", $"sha256={hex}", [.. body, (byte)'\n']).ShouldBeFalse();
        WebhookSignatures.VerifySavvyCal("savvy-secret", null, body).ShouldBeFalse();
    }

    [Fact]
    public void Google_channel_ids_carry_their_connection_and_tokens_compare_exactly()
    {
        var connection = Guid.NewGuid();
        var channel = GoogleChannels.NewId(connection);
        GoogleChannels.ConnectionIdOf(channel).ShouldBe(connection);
        GoogleChannels.ConnectionIdOf("someone-else-" + Guid.NewGuid()).ShouldBeNull();
        GoogleChannels.ConnectionIdOf(null).ShouldBeNull();
        WebhookSignatures.SecretEquals("token-a", "token-a").ShouldBeTrue();
        WebhookSignatures.SecretEquals("token-a", "token-b").ShouldBeFalse();
        WebhookSignatures.SecretEquals(null, "token-a").ShouldBeFalse();
    }
}
