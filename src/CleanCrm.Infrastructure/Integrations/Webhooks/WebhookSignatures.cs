using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>
/// The signature schemes of the providers' webhooks, over the raw body bytes, compared in constant time
/// (<see cref="CryptographicOperations.FixedTimeEquals"/>). Nothing here parses the body.
/// </summary>
public static class WebhookSignatures
{
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Standard Webhooks (Fathom): <c>webhook-signature</c> holds space-separated <c>v1,&lt;base64&gt;</c> entries, each an
    /// HMAC-SHA256 of <c>{webhook-id}.{webhook-timestamp}.{body}</c> keyed with the base64 secret after <c>whsec_</c>; the
    /// timestamp (Unix seconds) must be within five minutes of now.
    /// </summary>
    public static bool VerifyStandardWebhook(string secret, string? id, string? timestamp, string? signatures, byte[] body,
        DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(signatures) || !WithinTolerance(timestamp, now)
            || DecodeStandardSecret(secret) is not { } key)
        {
            return false;
        }

        var expected = HMACSHA256.HashData(key, Concat(Encoding.UTF8.GetBytes($"{id}.{timestamp}."), body));
        var matched = false;
        foreach (var entry in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var comma = entry.IndexOf(',', StringComparison.Ordinal);
            if (comma <= 0 || entry[..comma] != "v1")
            {
                continue;
            }

            var candidate = new byte[32];
            // Every entry is compared (no early exit), so the time taken does not tell which one matched.
            if (Convert.TryFromBase64String(entry[(comma + 1)..], candidate, out var written) && written == 32)
            {
                matched |= CryptographicOperations.FixedTimeEquals(candidate, expected);
            }
        }

        return matched;
    }

    /// <summary>Signs like a Standard Webhooks sender (tests and outgoing webhooks).</summary>
    public static string SignStandardWebhook(string secret, string id, long timestamp, byte[] body) =>
        "v1," + Convert.ToBase64String(HMACSHA256.HashData(DecodeStandardSecret(secret)
            ?? throw new ArgumentException("Not a whsec_ secret.", nameof(secret)),
            Concat(Encoding.UTF8.GetBytes($"{id}.{timestamp.ToString(CultureInfo.InvariantCulture)}."), body)));

    /// <summary>SavvyCal: <c>x-savvycal-signature: sha256=&lt;hex HMAC-SHA256 of the body&gt;</c>, hex in either case.</summary>
    public static bool VerifySavvyCal(string secret, string? header, byte[] body)
    {
        if (header is null || !header.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return HexEquals(header[7..], HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
    }

    /// <summary>
    /// Slack: <c>X-Slack-Signature: v0=&lt;hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{body}"&gt;</c> with the app's
    /// signing secret; a timestamp more than five minutes off is refused (replays).
    /// </summary>
    public static bool VerifySlack(string signingSecret, string? timestamp, string? header, byte[] body, DateTimeOffset now)
    {
        if (header is null || !header.StartsWith("v0=", StringComparison.Ordinal) || !WithinTolerance(timestamp, now))
        {
            return false;
        }

        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(signingSecret), Concat(Encoding.UTF8.GetBytes($"v0:{timestamp}:"), body));
        return HexEquals(header[3..], mac);
    }

    /// <summary>Constant-time equality of two secrets given as text (Google's channel token).</summary>
    public static bool SecretEquals(string? presented, string expected) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    private static bool HexEquals(string hex, byte[] expected)
    {
        if (hex.Length != expected.Length * 2)
        {
            return false;
        }

        try
        {
            return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(hex), expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool WithinTolerance(string? timestamp, DateTimeOffset now) =>
        long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
        && seconds < DateTimeOffset.MaxValue.ToUnixTimeSeconds()
        && (now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() <= Tolerance;

    private static byte[]? DecodeStandardSecret(string secret)
    {
        var encoded = secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret[6..] : secret;
        try
        {
            return Convert.FromBase64String(encoded);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static byte[] Concat(byte[] prefix, byte[] body)
    {
        var all = new byte[prefix.Length + body.Length];
        prefix.CopyTo(all, 0);
        body.CopyTo(all, prefix.Length);
        return all;
    }
}
