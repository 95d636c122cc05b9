using System.Globalization;
using System.Net;

namespace CleanCrm.Application.Common.Email;

/// <summary>The product's mails. Every value placed in HTML is encoded; subjects never carry tokens.</summary>
public static class EmailTemplates
{
    public static EmailMessage Invitation(
        Guid organizationId, string to, string organizationName, string inviterName, string role, Uri acceptLink, DateTimeOffset expiresAt)
    {
        var expires = expiresAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        var subject = $"{inviterName} invited you to {organizationName} on CleanCrm";
        var text =
            $"""
            Hello,

            {inviterName} invited you to join {organizationName} on CleanCrm as {role}.

            Accept the invitation: {acceptLink}

            The link works once and expires on {expires}. If you did not expect this invitation, ignore this message.
            """;
        var html =
            $"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello,</p>
            <p>{Html(inviterName)} invited you to join <strong>{Html(organizationName)}</strong> on CleanCrm as {Html(role)}.</p>
            <p><a href="{Html(acceptLink.AbsoluteUri)}">Accept the invitation</a></p>
            <p>The link works once and expires on {Html(expires)}. If you did not expect this invitation, ignore this message.</p>
            </body></html>
            """;
        return new EmailMessage("invitation", to, subject, text, html, organizationId);
    }

    public static EmailMessage Welcome(Guid organizationId, string to, string name, string organizationName, Uri home)
    {
        var subject = $"{organizationName} is ready on CleanCrm";
        var text =
            $"""
            Hello {name},

            Your organization {organizationName} is ready. Sign in: {home}

            Welcome to CleanCrm.
            """;
        var html =
            $"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {Html(name)},</p>
            <p>Your organization <strong>{Html(organizationName)}</strong> is ready. <a href="{Html(home.AbsoluteUri)}">Sign in</a>.</p>
            <p>Welcome to CleanCrm.</p>
            </body></html>
            """;
        return new EmailMessage("welcome", to, subject, text, html, organizationId);
    }

    public static EmailMessage PaymentFailed(Guid organizationId, string to, string name, string organizationName, int graceDays,
        Uri billing)
    {
        var subject = $"Payment failed for {organizationName} on CleanCrm";
        var text =
            $"""
            Hello {name},

            We could not collect the latest payment for {organizationName}. Please update the payment method: {billing}

            If the payment is still missing after {graceDays} day(s), the organization is suspended until it is paid; no data is deleted.
            """;
        var html =
            $"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {Html(name)},</p>
            <p>We could not collect the latest payment for <strong>{Html(organizationName)}</strong>. <a href="{Html(billing.AbsoluteUri)}">Update the payment method</a>.</p>
            <p>If the payment is still missing after {graceDays} day(s), the organization is suspended until it is paid; no data is deleted.</p>
            </body></html>
            """;
        return new EmailMessage("payment_failed", to, subject, text, html, organizationId);
    }

    public static EmailMessage TrialEnding(Guid organizationId, string to, string name, string organizationName, DateTimeOffset? endsAt,
        Uri billing)
    {
        var when = endsAt is { } end ? end.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : "soon";
        var subject = $"The {organizationName} trial ends {(endsAt is null ? "soon" : "on " + when)}";
        var text =
            $"""
            Hello {name},

            The trial of {organizationName} ends {(endsAt is null ? "soon" : "on " + when)}. Review the plan and payment method: {billing}
            """;
        var html =
            $"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {Html(name)},</p>
            <p>The trial of <strong>{Html(organizationName)}</strong> ends {Html(endsAt is null ? "soon" : "on " + when)}. <a href="{Html(billing.AbsoluteUri)}">Review the plan and payment method</a>.</p>
            </body></html>
            """;
        return new EmailMessage("trial_ending", to, subject, text, html, organizationId);
    }

    public static EmailMessage PasswordReset(string to, string name, Uri resetLink, TimeSpan lifetime)
    {
        var minutes = (int)lifetime.TotalMinutes;
        const string subject = "Reset your CleanCrm password";
        var text =
            $"""
            Hello {name},

            Someone (hopefully you) asked to reset the password of your CleanCrm account. Choose a new password: {resetLink}

            The link works once and expires in {minutes} minutes. Resetting signs you out everywhere. If you did not ask for
            this, ignore this message: your password stays as it is.
            """;
        var html =
            $"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {Html(name)},</p>
            <p>Someone (hopefully you) asked to reset the password of your CleanCrm account.</p>
            <p><a href="{Html(resetLink.AbsoluteUri)}">Choose a new password</a></p>
            <p>The link works once and expires in {minutes} minutes. Resetting signs you out everywhere.
            If you did not ask for this, ignore this message: your password stays as it is.</p>
            </body></html>
            """;
        return new EmailMessage("password_reset", to, subject, text, html);
    }

    public static EmailMessage VerifyEmail(string to, string name, Uri verifyLink, TimeSpan lifetime, bool reminder)
    {
        var days = (int)lifetime.TotalDays;
        var subject = reminder ? "Reminder: verify your email address for CleanCrm" : "Verify your email address for CleanCrm";
        var text =
            $"""
            Hello {name},

            Please confirm that {to} is your email address for CleanCrm: {verifyLink}

            The link works once and expires in {days} days. If you did not sign up for CleanCrm, ignore this message.
            """;
        var html =
            $"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {Html(name)},</p>
            <p>Please confirm that {Html(to)} is your email address for CleanCrm.</p>
            <p><a href="{Html(verifyLink.AbsoluteUri)}">Verify my email address</a></p>
            <p>The link works once and expires in {days} days. If you did not sign up for CleanCrm, ignore this message.</p>
            </body></html>
            """;
        return new EmailMessage(reminder ? "verify_email_reminder" : "verify_email", to, subject, text, html);
    }

    private static string Html(string value) => WebUtility.HtmlEncode(value);
}
