namespace CleanCrm.Application.Common.Email;

/// <summary>A message to send: plain-text and HTML bodies of the same content.</summary>
public sealed record EmailMessage(string Kind, string To, string Subject, string TextBody, string HtmlBody, Guid? OrganizationId = null);

/// <summary>
/// Queues mail in the catalog unit of work: the message is saved by the same <c>SaveChangesAsync</c> as the change that
/// causes it (nothing is sent for a change that rolled back) and is handed to the mail job after commit.
/// </summary>
public interface IEmailOutbox
{
    void Add(EmailMessage message);
}

/// <summary>Absolute links that mails point to (the SPA and the API's own pages).</summary>
public interface IPublicLinks
{
    /// <summary>Where an invitee accepts: the SPA page that calls <c>POST /api/v1/invitations/{token}/accept</c>.</summary>
    Uri InvitationAcceptPage(string token);

    /// <summary>The product's start page for a signed-in user of an organization.</summary>
    Uri OrganizationHome(string slug);

    /// <summary>The SPA's billing page of an organization (payment method, invoices).</summary>
    Uri Billing(string slug);
}
