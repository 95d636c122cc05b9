using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Email;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CleanCrm.IntegrationTests.Email;

/// <summary>
/// Found by the fault suite (docs/reliability.md, scenario 1, mail outbox): a worker killed after the SMTP server had
/// accepted a message (250 after DATA) but before QUIT was answered left the row pending, and the redelivered job sent
/// the message a second time. The row is now marked sent as soon as the server accepts the message, before QUIT.
/// No worker runs in this class; the job is invoked as the queue would, against an SMTP server that holds QUIT.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class EmailDeliveryCrashTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_message_the_server_accepted_is_recorded_sent_before_quit_so_a_crash_during_quit_cannot_send_it_twice()
    {
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        await using var smtp = QuitHoldingSmtpServer.Start(dropAtQuit: false);
        var (job, catalog, emailId) = await PendingEmailAsync(api, smtp.Port);

        var sending = job.SendAsync(emailId, CancellationToken.None);
        await smtp.QuitReceived.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The server has the message and the job waits for QUIT's answer: what a crash now leaves behind is committed.
        await using (var db = await catalog.CreateDbContextAsync())
        {
            var row = await db.OutgoingEmails.AsNoTracking().SingleAsync(e => e.Id == emailId);
            row.Status.ShouldBe(OutgoingEmailStatus.Sent);
            row.SentAt.ShouldNotBeNull();
            row.ProtectedBody.ShouldBeNull();
        }

        smtp.AnswerQuit();
        await sending;
        // The job delivered again (Hangfire after a crash, or the sweeper) sends nothing more.
        await job.SendAsync(emailId, CancellationToken.None);
        smtp.Accepted.ShouldBe(1);
    }

    [Fact]
    public async Task A_connection_lost_at_quit_after_the_server_accepted_the_message_is_neither_a_failure_nor_a_retry()
    {
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        await using var smtp = QuitHoldingSmtpServer.Start(dropAtQuit: true);
        var (job, catalog, emailId) = await PendingEmailAsync(api, smtp.Port);

        await job.SendAsync(emailId, CancellationToken.None);

        await using var db = await catalog.CreateDbContextAsync();
        var row = await db.OutgoingEmails.AsNoTracking().SingleAsync(e => e.Id == emailId);
        row.Status.ShouldBe(OutgoingEmailStatus.Sent);
        row.Attempts.ShouldBe(1);
        row.LastError.ShouldBeNull();
        await job.SendAsync(emailId, CancellationToken.None);
        smtp.Accepted.ShouldBe(1);
    }

    private static async Task<(EmailDeliveryJob Job, IDbContextFactory<CatalogDbContext> Catalog, Guid EmailId)> PendingEmailAsync(
        ApiFactory api, int smtpPort)
    {
        var catalog = api.Services.GetRequiredService<IDbContextFactory<CatalogDbContext>>();
        var protector = api.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector(EmailQueue.ProtectorPurpose);
        // Written without queuing a job, so only this test's job sends it.
        var email = new OutgoingEmail
        {
            Kind = "invitation",
            ToAddress = $"quit-{Guid.NewGuid():N}@example.com",
            Subject = "Held at QUIT",
            ProtectedBody = protector.Protect(JsonSerializer.Serialize(new EmailBody("text", "<p>html</p>"))),
            Status = OutgoingEmailStatus.Pending,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        await using (var db = await catalog.CreateDbContextAsync())
        {
            db.OutgoingEmails.Add(email);
            await db.SaveChangesAsync();
        }

        var options = Options.Create(new EmailOptions
        {
            Smtp = new SmtpOptions { Host = "127.0.0.1", Port = smtpPort, Security = "None", TimeoutSeconds = 30 },
        });
        var job = new EmailDeliveryJob(catalog, api.Services.GetRequiredService<EmailQueue>(), options, TimeProvider.System,
            NullLogger<EmailDeliveryJob>.Instance);
        return (job, catalog, email.Id);
    }

    /// <summary>An SMTP server that accepts every message and then holds QUIT unanswered (or drops the connection).</summary>
    private sealed class QuitHoldingSmtpServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly bool _dropAtQuit;
        private readonly TaskCompletionSource _answerQuit = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stop = new();
        private int _accepted;

        private QuitHoldingSmtpServer(bool dropAtQuit)
        {
            _dropAtQuit = dropAtQuit;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Accepted => Volatile.Read(ref _accepted);

        public TaskCompletionSource QuitReceived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static QuitHoldingSmtpServer Start(bool dropAtQuit) => new(dropAtQuit);

        public void AnswerQuit() => _answerQuit.TrySetResult();

        public ValueTask DisposeAsync()
        {
            _answerQuit.TrySetResult();
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
            return ValueTask.CompletedTask;
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }

                _ = SessionAsync(client);
            }
        }

        private async Task SessionAsync(TcpClient client)
        {
            using var _ = client;
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII);
            async Task Say(string line) => await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
            await Say("220 localhost ESMTP");
            while (await reader.ReadLineAsync() is { } line)
            {
                var verb = line.Length >= 4 ? line[..4].ToUpperInvariant() : line.ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO" or "HELO":
                        await Say("250 localhost");
                        break;
                    case "DATA":
                        await Say("354 go ahead");
                        while (await reader.ReadLineAsync() is { } data && data != ".")
                        {
                        }

                        Interlocked.Increment(ref _accepted);
                        await Say("250 OK queued");
                        break;
                    case "QUIT":
                        QuitReceived.TrySetResult();
                        if (_dropAtQuit)
                        {
                            client.Client.LingerState = new LingerOption(true, 0);
                            return;
                        }

                        await _answerQuit.Task;
                        await Say("221 bye");
                        return;
                    default:
                        await Say("250 OK");
                        break;
                }
            }
        }
    }
}
