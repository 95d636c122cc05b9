using System.Net;
using System.Net.Sockets;
using CleanCrm.Application.Common.Email;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Email;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Email;

/// <summary>
/// Mail while SMTP is down (docs/OPERATIONS.md, "Outgoing mail"; docs/reliability.md, scenario 5c): the message waits in
/// the outbox for its scheduled retry, the sweeper does not queue it again meanwhile (which spent every attempt within
/// minutes and gave the mail up), and it goes out exactly once when SMTP is back.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class EmailRetryTests(SharedPlatform platform)
{
    [Fact]
    public async Task A_mail_that_cannot_be_sent_waits_for_its_retry_without_being_queued_again_and_is_delivered_once_later()
    {
        var to = $"retry-{Guid.NewGuid():N}@example.com";
        Guid emailId;
        // SMTP down: the worker points at a port nothing listens on; the sweeper runs every second (RequeueAfterSeconds 2).
        await using (var down = await WorkerHostRunner.StartAsync(platform, new Dictionary<string, string>
        {
            ["CleanCrm:Email:Smtp:Port"] = ClosedPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CleanCrm:Email:RequeueAfterSeconds"] = "2",
        }))
        {
            await using (var db = await platform.CatalogAsync())
            {
                down.Services.GetRequiredService<EmailQueue>()
                    .Add(db, new EmailMessage("invitation", to, "Retry test", "text", "<p>html</p>"));
                await db.SaveChangesAsync();
            }

            emailId = (await EmailAsync(to)).Id;
            // The first attempt fails at once; its retry is due 5 s later, the next 15 s after that. Before the fix the
            // sweeper queued the pending row again every second, each job spent an attempt, and the row was given up
            // (failed, body erased) after 8 attempts within about 10 s.
            await Task.Delay(TimeSpan.FromSeconds(12));
            var waiting = await EmailAsync(to);
            waiting.Status.ShouldBe(OutgoingEmailStatus.Pending, $"attempts {waiting.Attempts}: {waiting.LastError}");
            waiting.Attempts.ShouldBeInRange(1, 2);
            waiting.ProtectedBody.ShouldNotBeNull();
            waiting.LastError.ShouldNotBeNull().ShouldContain("Socket");
            // queued_at holds when the retry is due (at least 5 s after an attempt), not when a copy was last queued.
            waiting.QueuedAt.ShouldNotBeNull().ShouldBeGreaterThan(waiting.CreatedAt.AddSeconds(4));
        }

        // SMTP back: the scheduled retry (or the sweeper, once it is overdue) delivers it, once.
        await using var up = await WorkerHostRunner.StartAsync(platform);
        await platform.Mail.WaitForAsync(to, timeout: TimeSpan.FromSeconds(90));
        await Task.Delay(TimeSpan.FromSeconds(3));
        platform.Mail.CountTo(to).ShouldBe(1);
        var sent = await EmailAsync(to);
        sent.Id.ShouldBe(emailId);
        sent.Status.ShouldBe(OutgoingEmailStatus.Sent);
        sent.ProtectedBody.ShouldBeNull();
    }

    private async Task<OutgoingEmail> EmailAsync(string to)
    {
        await using var db = await platform.CatalogAsync();
        return await db.OutgoingEmails.AsNoTracking().SingleAsync(e => e.ToAddress == to);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
