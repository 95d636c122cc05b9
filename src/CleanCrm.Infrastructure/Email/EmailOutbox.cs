using System.Text.Json;
using CleanCrm.Application.Common.Email;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Hangfire.States;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Email;

/// <summary>
/// Adds messages to a catalog unit of work (encrypted body) and, once that unit commits, hands them to the mail job.
/// If handing over fails (no job storage in this process, a crash), the worker's <see cref="EmailOutboxSweeper"/> does it.
/// </summary>
public sealed partial class EmailQueue(IDataProtectionProvider dataProtection, IServiceProvider services, TimeProvider clock,
    ILogger<EmailQueue> logger)
{
    internal const string ProtectorPurpose = "CleanCrm.Email.Body.v1";

    private readonly IDataProtector _protector = dataProtection.CreateProtector(ProtectorPurpose);

    public void Add(CatalogDbContext db, EmailMessage message)
    {
        var email = new OutgoingEmail
        {
            Kind = message.Kind,
            OrganizationId = message.OrganizationId,
            ToAddress = message.To,
            Subject = message.Subject.Length <= 300 ? message.Subject : message.Subject[..300],
            ProtectedBody = _protector.Protect(JsonSerializer.Serialize(new EmailBody(message.TextBody, message.HtmlBody))),
            Status = OutgoingEmailStatus.Pending,
            CreatedAt = clock.GetUtcNow(),
        };
        db.OutgoingEmails.Add(email);

        void OnSaved(object? sender, SavedChangesEventArgs args)
        {
            db.SavedChanges -= OnSaved;
            Enqueue(email.Id);
        }

        db.SavedChanges += OnSaved;
    }

    /// <summary>Adds one message per owner of the organization (built from the owner's email and name) to the unit of work.</summary>
    public async Task AddToOwnersAsync(CatalogDbContext db, Guid organizationId, Func<string, string, EmailMessage> message,
        CancellationToken cancellationToken)
    {
        var owners = await db.Memberships.AsNoTracking().Where(m => m.OrganizationId == organizationId && m.Role == OrgRole.Owner)
            .Select(m => new { m.User!.Email, m.User.Name }).ToListAsync(cancellationToken);
        foreach (var owner in owners)
        {
            Add(db, message(owner.Email, owner.Name));
        }
    }

    /// <summary>Queues the delivery job; returns false when this process has no job storage or queuing failed.</summary>
    public bool Enqueue(Guid emailId) =>
        JobQueuing.TryCreate<EmailDeliveryJob>(services, job => job.SendAsync(emailId, CancellationToken.None), null,
            exception => LogEnqueueFailed(logger, exception, emailId));

    /// <summary>
    /// Queues the retry of failed attempt <paramref name="afterAttempt"/> to run after <paramref name="delay"/>; returns false when this
    /// process has no job storage or scheduling failed, in which case the sweeper queues it once the retry is overdue.
    /// </summary>
    public bool Schedule(Guid emailId, int afterAttempt, TimeSpan delay) =>
        JobQueuing.TryCreate<EmailDeliveryJob>(services, job => job.RetryAsync(emailId, afterAttempt, CancellationToken.None), delay,
            exception => LogEnqueueFailed(logger, exception, emailId));

    internal EmailBody Unprotect(string protectedBody) =>
        JsonSerializer.Deserialize<EmailBody>(_protector.Unprotect(protectedBody))
            ?? throw new InvalidOperationException("Empty email body.");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not queue email {EmailId}; the outbox sweeper will")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, Guid emailId);
}

internal sealed record EmailBody(string Text, string Html);

/// <summary>The request-scoped outbox: messages join the scoped catalog unit of work of the handler.</summary>
public sealed class EmailOutbox(CatalogDbContext db, EmailQueue queue) : IEmailOutbox
{
    public void Add(EmailMessage message) => queue.Add(db, message);
}

public sealed class PublicLinks(IOptions<EmailOptions> options) : IPublicLinks
{
    // The token goes in the fragment: browsers never send it to the SPA's web server, so it stays out of access logs.
    public Uri InvitationAcceptPage(string token) => new($"{Base}/accept-invitation#token={Uri.EscapeDataString(token)}");

    public Uri OrganizationHome(string slug) => new($"{Base}/{Uri.EscapeDataString(slug)}");

    public Uri Billing(string slug) => new($"{Base}/{Uri.EscapeDataString(slug)}/billing");

    private string Base => options.Value.PublicBaseUrl.TrimEnd('/');
}
