using System.Globalization;
using System.Net;
using CleanCrm.Application.Common.Email;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Support;

/// <summary>The mail an organization's owners get when a platform admin opens a support session on it.</summary>
internal static class SupportEmails
{
    public const string Kind = "support_session";

    public static EmailMessage Started(SupportSession session, string to, string ownerName, string organizationName, string adminEmail)
    {
        var expires = session.ExpiresAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        var subject = $"CleanCrm support opened read-only access to {organizationName}";
        var text =
            $"""
            Hello {ownerName},

            {adminEmail} (CleanCrm support) opened a read-only support session on {organizationName} until {expires}.

            Reason: {session.Reason}

            Support can read contacts, companies and deals during the session and cannot change anything. The session is
            recorded in your organization's audit log. If you did not expect it, reply to this message.
            """;
        var html =
            $"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {Html(ownerName)},</p>
            <p>{Html(adminEmail)} (CleanCrm support) opened a <strong>read-only</strong> support session on
            <strong>{Html(organizationName)}</strong> until {Html(expires)}.</p>
            <p>Reason: {Html(session.Reason)}</p>
            <p>Support can read contacts, companies and deals during the session and cannot change anything. The session is
            recorded in your organization's audit log. If you did not expect it, reply to this message.</p>
            </body></html>
            """;
        return new EmailMessage(Kind, to, subject, text, html, session.OrganizationId);
    }

    private static string Html(string value) => WebUtility.HtmlEncode(value);
}
