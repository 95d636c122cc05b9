using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;

namespace CleanCrm.Infrastructure.Email;

/// <summary>
/// Sends one queued message over SMTP (MailKit). The row is locked while sending, so a message queued twice (sweeper
/// and API) goes out once. A failed attempt schedules the next one itself, further and further apart
/// (<see cref="RetryDelaySeconds"/>), and records when it is due in <c>queued_at</c>, so the outbox sweeper leaves a message
/// that is waiting for its retry alone (it used to queue it again every minute, which spent every attempt within a few
/// minutes of an SMTP outage and gave the mail up; docs/reliability.md, scenario 5c). Given up after
/// <see cref="EmailOptions.MaxAttempts"/>.
/// </summary>
public sealed partial class EmailDeliveryJob(
    IDbContextFactory<CatalogDbContext> catalogFactory, EmailQueue queue, IOptions<EmailOptions> options, TimeProvider clock,
    ILogger<EmailDeliveryJob> logger)
{
    /// <summary>Seconds to wait after the n-th failed attempt (the last repeats): with the default 8 attempts the last comes
    /// about 19 minutes after the first.</summary>
    public static readonly int[] RetryDelaySeconds = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

    /// <summary>The first attempt (queued by the API or the worker after commit) or a re-queue by the sweeper.</summary>
    // Hangfire's own retries only cover a failure outside the SMTP attempt (the catalog unreachable, for example).
    [AutomaticRetry(Attempts = 20, DelaysInSeconds = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600])]
    [Queue(Jobs.HangfireStorage.DefaultQueue)]
    public Task SendAsync(Guid emailId, CancellationToken cancellationToken) => DeliverAsync(emailId, null, cancellationToken);

    /// <summary>
    /// The retry scheduled by failed attempt number <paramref name="afterAttempt"/>; it does nothing when another run made an
    /// attempt since (a sweeper re-queue that raced the failure), so one message never has two retry chains.
    /// </summary>
    [AutomaticRetry(Attempts = 20, DelaysInSeconds = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600])]
    [Queue(Jobs.HangfireStorage.DefaultQueue)]
    public Task RetryAsync(Guid emailId, int afterAttempt, CancellationToken cancellationToken) =>
        DeliverAsync(emailId, afterAttempt, cancellationToken);

    private async Task DeliverAsync(Guid emailId, int? afterAttempt, CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var email = await db.OutgoingEmails.FromSql($"SELECT * FROM outgoing_emails WHERE id = {emailId} FOR UPDATE SKIP LOCKED")
            .FirstOrDefaultAsync(cancellationToken);
        if (email is null || email.Status != OutgoingEmailStatus.Pending || email.ProtectedBody is null)
        {
            return; // Sent, given up, or being sent by another worker right now.
        }

        if (afterAttempt is { } expected ? email.Attempts != expected : email.QueuedAt > clock.GetUtcNow())
        {
            return; // Another run made an attempt since this retry was scheduled, or a retry is scheduled: that one sends.
        }

        var settings = options.Value;
        email.Attempts++;
        try
        {
            var body = queue.Unprotect(email.ProtectedBody);
            using var message = new MimeMessage();
            message.From.Add(new MailboxAddress(settings.FromName, settings.FromAddress));
            message.To.Add(MailboxAddress.Parse(email.ToAddress));
            message.Subject = email.Subject;
            message.MessageId = $"{email.Id:N}@{settings.FromAddress.Split('@')[^1]}";
            message.Headers.Add("X-CleanCrm-Kind", email.Kind);
            message.Body = new BodyBuilder { TextBody = body.Text, HtmlBody = body.Html }.ToMessageBody();
            using var smtp = new SmtpClient { Timeout = settings.Smtp.TimeoutSeconds * 1000 };
            await smtp.ConnectAsync(settings.Smtp.Host, settings.Smtp.Port, Security(settings.Smtp.Security), cancellationToken);
            if (!string.IsNullOrEmpty(settings.Smtp.Username))
            {
                await smtp.AuthenticateAsync(settings.Smtp.Username, settings.Smtp.Password ?? string.Empty, cancellationToken);
            }

            await smtp.SendAsync(message, cancellationToken);
            // The server has accepted the message (250 after DATA): record that before QUIT, and whatever the token says,
            // so a crash or a lost connection while quitting cannot send it a second time (docs/reliability.md, scenario 1).
            email.Status = OutgoingEmailStatus.Sent;
            email.SentAt = clock.GetUtcNow();
            email.ProtectedBody = null; // The body may hold a one-time token; nobody needs it any more.
            email.LastError = null;
            await db.SaveChangesAsync(CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
            LogSent(logger, email.Id, email.Kind, email.Attempts);
            await QuitAsync(smtp, email.Id);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Reasons name the failure class and SMTP status, never the body or credentials.
            email.LastError = Truncate($"{exception.GetType().Name}: {exception.Message}", 1000);
            var giveUp = email.Attempts >= settings.MaxAttempts;
            var delay = TimeSpan.FromSeconds(RetryDelaySeconds[Math.Min(email.Attempts, RetryDelaySeconds.Length) - 1]);
            if (giveUp)
            {
                email.Status = OutgoingEmailStatus.Failed;
                email.ProtectedBody = null;
            }
            else
            {
                email.QueuedAt = clock.GetUtcNow() + delay; // when the retry is due: the sweeper acts only once it is overdue
            }

            await db.SaveChangesAsync(CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
            LogFailed(logger, exception, email.Id, email.Kind, email.Attempts, giveUp);
            if (!giveUp)
            {
                queue.Schedule(email.Id, email.Attempts, delay);
            }
        }
    }

    /// <summary>Ends the session politely; the message is already recorded as sent, so a failure here only gets logged.</summary>
    private async Task QuitAsync(SmtpClient smtp, Guid emailId)
    {
        try
        {
            await smtp.DisconnectAsync(quit: true, CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogQuitFailed(logger, exception, emailId);
        }
    }

    private static SecureSocketOptions Security(string value) => value switch
    {
        "StartTls" => SecureSocketOptions.StartTls,
        "SslOnConnect" => SecureSocketOptions.SslOnConnect,
        _ => SecureSocketOptions.None,
    };

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];

    [LoggerMessage(Level = LogLevel.Information, Message = "Email {EmailId} ({Kind}) sent after {Attempts} attempt(s)")]
    private static partial void LogSent(ILogger logger, Guid emailId, string kind, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Email {EmailId} was accepted by the server; ending the SMTP session failed")]
    private static partial void LogQuitFailed(ILogger logger, Exception exception, Guid emailId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Email {EmailId} ({Kind}) failed on attempt {Attempts}; given up: {GaveUp}")]
    private static partial void LogFailed(ILogger logger, Exception exception, Guid emailId, string kind, int attempts, bool gaveUp);
}

/// <summary>Worker only: queues pending mail that was never handed to the job queue (or whose job was lost).</summary>
public sealed partial class EmailOutboxSweeper(
    IDbContextFactory<CatalogDbContext> catalogFactory, EmailQueue queue, IOptions<EmailOptions> options, TimeProvider clock,
    ILogger<EmailOutboxSweeper> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.RequeueAfterSeconds / 2.0)), clock);
        do
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogSweepFailed(logger, exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var cutoff = now.AddSeconds(-options.Value.RequeueAfterSeconds);
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var stale = await db.OutgoingEmails
            .Where(e => e.Status == OutgoingEmailStatus.Pending && e.CreatedAt < cutoff && (e.QueuedAt == null || e.QueuedAt < cutoff))
            .OrderBy(e => e.CreatedAt).Select(e => e.Id).Take(500).ToListAsync(cancellationToken);
        var queued = 0;
        foreach (var id in stale)
        {
            // Claimed only while still overdue: a delivery attempt that failed since the query set queued_at to its retry's
            // due time, and that retry must not get a twin. A failed enqueue leaves the claim; the next sweep after
            // RequeueAfterSeconds tries again.
            var claimed = await db.OutgoingEmails
                .Where(e => e.Id == id && e.Status == OutgoingEmailStatus.Pending && (e.QueuedAt == null || e.QueuedAt < cutoff))
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.QueuedAt, now), cancellationToken);
            if (claimed == 1 && queue.Enqueue(id))
            {
                queued++;
            }
        }

        return queued;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Email outbox sweep failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
