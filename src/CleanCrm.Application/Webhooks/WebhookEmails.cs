using System.Net;
using CleanCrm.Application.Common.Email;

namespace CleanCrm.Application.Webhooks;

public static class WebhookEmails
{
    /// <summary>To each owner when an endpoint kept failing for the whole retry window and was disabled.</summary>
    public static EmailMessage EndpointDisabled(Guid organizationId, string to, string name, string organizationName, string url,
        string reason)
    {
        var subject = $"A webhook endpoint of {organizationName} was disabled";
        var text =
            $"""
            Hello {name},

            CleanCrm could not deliver events to the webhook endpoint {url} of {organizationName} for three days ({reason}),
            so it was disabled and receives nothing more. Fix the receiver, then enable the endpoint again
            (status "enabled" on the endpoint in the API) and redeliver what it missed from its delivery log.
            """;
        var html =
            $"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {WebUtility.HtmlEncode(name)},</p>
            <p>CleanCrm could not deliver events to the webhook endpoint <code>{WebUtility.HtmlEncode(url)}</code> of
            <strong>{WebUtility.HtmlEncode(organizationName)}</strong> for three days ({WebUtility.HtmlEncode(reason)}),
            so it was disabled and receives nothing more.</p>
            <p>Fix the receiver, then enable the endpoint again and redeliver what it missed from its delivery log.</p>
            </body></html>
            """;
        return new EmailMessage("webhook_endpoint_disabled", to, subject, text, html, organizationId);
    }
}
