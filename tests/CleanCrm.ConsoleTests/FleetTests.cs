using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using CleanCrm.ConsoleTests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CleanCrm.ConsoleTests;

/// <summary>The fleet pages: schema migrations across every tenant and the database servers tenants live on.</summary>
public sealed class FleetTests(ConsoleStack stack) : ConsoleTest(stack)
{
    [Fact]
    public Task A_fleet_migration_started_in_the_console_reaches_succeeded() =>
        ScenarioAsync(nameof(A_fleet_migration_started_in_the_console_reaches_succeeded), async page =>
        {
            await Stack.Api.ActiveOrganizationAsync("fleet");
            await SignInAsAdminAsync(page);
            await page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Migrations", Exact = true }).ClickAsync();
            await ExpectHeadingAsync(page, "Fleet migrations");
            await Expect(Table(page, "Tenants behind the head schema")).ToBeAttachedAsync();

            var start = Form(page, "Start fleet migration");
            await Expect(start.GetByLabel("Take a safety backup first")).ToBeVisibleAsync();
            await Button(start, "Start fleet migration").ClickAsync();

            await Expect(page.GetByTestId("migration-state")).ToHaveTextAsync(
                new Regex(@"^\s*succeeded\s*$"), new() { Timeout = (float)LiveTimeout.TotalMilliseconds });
            var progress = page.GetByRole(AriaRole.Progressbar).First;
            var maximum = await progress.GetAttributeAsync("aria-valuemax");
            maximum.ShouldNotBeNullOrEmpty();
            (await progress.GetAttributeAsync("aria-valuenow")).ShouldBe(maximum);
            await ScreenshotAsync(page, "migrations");

            // By now the fleet has tenants and a finished migration: the overview worth a picture.
            await page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Overview", Exact = true }).ClickAsync();
            await ExpectHeadingAsync(page, "Fleet overview");
            await ScreenshotAsync(page, "overview-with-tenants");
        });

    [Fact]
    public Task Registering_an_unreachable_database_server_shows_a_readable_error_and_adds_nothing() =>
        ScenarioAsync(nameof(Registering_an_unreachable_database_server_shows_a_readable_error_and_adds_nothing), async page =>
        {
            await SignInAsAdminAsync(page);
            await page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Database servers", Exact = true })
                .ClickAsync();
            await ExpectHeadingAsync(page, "Database servers");
            var rows = Table(page, "Database servers").Locator("tbody tr");
            await Expect(rows.Filter(new() { HasText = "primary" })).ToHaveCountAsync(1);
            var before = await rows.CountAsync();
            await ScreenshotAsync(page, "servers");

            var name = $"unreachable-{Guid.NewGuid():N}"[..20];
            var register = Form(page, "Register database server");
            await register.GetByLabel("Name", new() { Exact = true }).FillAsync(name);
            await register.GetByLabel("Host", new() { Exact = true }).FillAsync("127.0.0.1");
            await register.GetByLabel("Port", new() { Exact = true })
                .FillAsync(ClosedPort().ToString(System.Globalization.CultureInfo.InvariantCulture));
            await register.GetByLabel("Admin username", new() { Exact = true }).FillAsync("postgres");
            await register.GetByLabel("Password", new() { Exact = true }).FillAsync("not-the-password");
            await register.GetByLabel("Capacity", new() { Exact = true }).FillAsync("10");
            await Button(register, "Test and register").ClickAsync();

            await ExpectReadableErrorAsync(page);
            await page.GotoAsync("/servers");
            await Expect(rows).ToHaveCountAsync(before);
            await Expect(rows.Filter(new() { HasText = name })).ToHaveCountAsync(0);
        });

    /// <summary>A local port nothing listens on (taken from the OS, then released).</summary>
    private static int ClosedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
