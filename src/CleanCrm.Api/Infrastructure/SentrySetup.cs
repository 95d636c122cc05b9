using System.Diagnostics;
using System.Text.RegularExpressions;
using CleanCrm.Infrastructure.Observability;
using Sentry;
using Sentry.AspNetCore;

namespace CleanCrm.Api.Infrastructure;

/// <summary>
/// Error tracking with Sentry, opt-in by <c>Sentry:Dsn</c> (docs/OBSERVABILITY.md "Error tracking"): unhandled exceptions
/// only, tagged with the release and the org of the request, and scrubbed: no request bodies, cookies, credentials headers,
/// query strings or user addresses are sent, and secret-looking values in messages are replaced.
/// </summary>
public static partial class SentrySetup
{
    private static readonly HashSet<string> SensitiveHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "Proxy-Authorization", "Stripe-Signature", "X-Forwarded-For",
        "webhook-signature", "X-Slack-Signature", "X-Hub-Signature-256",
    };

    public static WebApplicationBuilder AddCleanCrmSentry(this WebApplicationBuilder builder)
    {
        if (builder.Configuration["Sentry:Dsn"] is not { Length: > 0 })
        {
            return builder;
        }

        builder.WebHost.UseSentry(options =>
        {
            options.Release = Telemetry.Release;
            options.Environment = builder.Environment.EnvironmentName.ToLowerInvariant();
            options.SendDefaultPii = false;
            options.MaxRequestBodySize = Sentry.Extensibility.RequestSize.None;
            options.TracesSampleRate = 0;
            options.AutoSessionTracking = false;
            options.SetBeforeSend((sentryEvent, _) => Scrub(sentryEvent));
        });
        return builder;
    }

    /// <summary>Removes what could carry a secret and adds the org tag; public for the unit test of the scrubbing rules.</summary>
    public static SentryEvent Scrub(SentryEvent sentryEvent)
    {
        if (OrgOf(Activity.Current) is { } org)
        {
            sentryEvent.SetTag("org_id", org);
        }

        var request = sentryEvent.Request;
        request.Data = null;
        request.Cookies = null;
        request.QueryString = null;
        foreach (var header in request.Headers.Keys.Where(SensitiveHeaders.Contains).ToList())
        {
            request.Headers[header] = "[redacted]";
        }

        if (request.Url is { } url)
        {
            request.Url = Uri.TryCreate(url, UriKind.Absolute, out var parsed)
                ? parsed.GetLeftPart(UriPartial.Authority) + Endpoints.InvitationsEndpoints.RedactPath(parsed.AbsolutePath)
                : null;
        }

        sentryEvent.User = new SentryUser { Id = sentryEvent.User.Id };
        sentryEvent.ServerName = null;
        if (sentryEvent.Message is { } message)
        {
            sentryEvent.Message = new SentryMessage { Formatted = Redact(message.Formatted ?? message.Message) };
        }

        foreach (var exception in sentryEvent.SentryExceptions ?? [])
        {
            exception.Value = Redact(exception.Value);
        }

        return sentryEvent;
    }

    /// <summary>Replaces the value of anything that looks like a credential in a text (connection strings, key=value, bearer).</summary>
    public static string? Redact(string? text) =>
        text is null ? null : SecretPattern().Replace(BearerPattern().Replace(text, "Bearer [redacted]"), "$1=[redacted]");

    private static string? OrgOf(Activity? activity)
    {
        for (var a = activity; a is not null; a = a.Parent)
        {
            if (a.GetTagItem("cleancrm.org_id") is { } org)
            {
                return org.ToString();
            }
        }

        return null;
    }

    [GeneratedRegex(
        @"(password|pwd|passwd|secret|token|api[_-]?key|client[_-]?secret|signing[_-]?key|access[_-]?key|sig)"
            + @"\s*""?\s*[=:]\s*""?[^;\s&,""']+",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretPattern();

    [GeneratedRegex(@"Bearer\s+[A-Za-z0-9\-._~+/]+=*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BearerPattern();
}
