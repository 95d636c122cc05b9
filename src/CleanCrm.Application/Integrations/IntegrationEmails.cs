using System.Net;
using CleanCrm.Application.Common.Email;

namespace CleanCrm.Application.Integrations;

public static class IntegrationEmails
{
    /// <summary>To the user who connected a provider whose grant was revoked or expired: it syncs nothing until re-authorized.</summary>
    public static EmailMessage NeedsReauthorization(Guid organizationId, string to, string name, string organizationName, string provider,
        Uri integrationsPage)
    {
        var subject = $"Reconnect {provider} for {organizationName} on CleanCrm";
        var text =
            $"""
            Hello {name},

            {provider} no longer accepts the authorization you gave CleanCrm for {organizationName} (it was revoked or has expired),
            so nothing is synced from it. Connect it again here: {integrationsPage}
            """;
        var html =
            $"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {WebUtility.HtmlEncode(name)},</p>
            <p>{WebUtility.HtmlEncode(provider)} no longer accepts the authorization you gave CleanCrm for
            <strong>{WebUtility.HtmlEncode(organizationName)}</strong>
            (it was revoked or has expired), so nothing is synced from it.</p>
            <p><a href="{WebUtility.HtmlEncode(integrationsPage.AbsoluteUri)}">Connect it again</a>.</p>
            </body></html>
            """;
        return new EmailMessage("integration_needs_reauth", to, subject, text, html, organizationId);
    }
}
