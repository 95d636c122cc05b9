using System.Net;
using System.Text.RegularExpressions;
using CleanCrm.ConsoleTests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CleanCrm.ConsoleTests;

/// <summary>Support access: a read-only, time-boxed look into one organization that the organization can see in its audit log.</summary>
public sealed class SupportTests(ConsoleStack stack) : ConsoleTest(stack)
{
    [Fact]
    public Task A_support_session_is_read_only_and_shows_in_the_orgs_audit_log_and_the_platform_audit_log() =>
        ScenarioAsync(nameof(A_support_session_is_read_only_and_shows_in_the_orgs_audit_log_and_the_platform_audit_log), async page =>
        {
            var organization = await Stack.Api.ActiveOrganizationAsync("support");
            var contact = $"Ada-{Guid.NewGuid():N}"[..12];
            var (created, body) = await Stack.Api.PostAsOwnerAsync(organization, "/api/v1/contacts",
                new { firstName = contact, lastName = "Lovelace", email = $"{contact.ToLowerInvariant()}@example.com" });
            created.ShouldBe(HttpStatusCode.Created, body.ToString());
            var reason = $"Ticket {Guid.NewGuid():N}"[..20];

            await SignInAsAdminAsync(page);
            await OpenOrganizationAsync(page, organization);
            var open = Form(page, "Open support session");
            await open.GetByLabel("Reason").FillAsync(reason);
            await open.GetByLabel("Minutes").FillAsync("15");
            await Button(open, "Open support session").ClickAsync();

            await Expect(page).ToHaveURLAsync(new Regex(@"/support/[0-9a-fA-F-]{36}$"));
            await ExpectHeadingAsync(page, "Support session");
            await Expect(page.GetByText("Read-only support session").First).ToBeVisibleAsync();
            foreach (var link in new[] { "Contacts", "Companies", "Deals" })
            {
                await Expect(page.GetByRole(AriaRole.Link, new() { Name = link, Exact = true })).ToBeVisibleAsync();
            }

            await Expect(Table(page, "Contacts")).ToContainTextAsync(contact);
            await ExpectNoWriteControlsAsync(page);
            await ScreenshotAsync(page, "support");

            // The organization sees the look in its own audit log (owners and auditors read it).
            await EventuallyAsync(async () =>
            {
                var (status, log) = await Stack.Api.GetAsOwnerAsync(organization, "/api/v1/audit-log");
                status.ShouldBe(HttpStatusCode.OK, log.ToString());
                return log.GetProperty("items").EnumerateArray().Any(entry =>
                    entry.GetProperty("action").GetString() == "support_started"
                    && entry.GetProperty("entityType").GetString() == "support_session"
                    && entry.GetProperty("changes").ToString().Contains(reason, StringComparison.Ordinal));
            }, $"a support_started entry with the reason in the audit log of {organization.Slug}");

            // And the platform keeps who opened it, from where and why.
            await page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Audit log", Exact = true }).ClickAsync();
            await ExpectHeadingAsync(page, "Platform audit log");
            var entry = Table(page, "Platform audit log").Locator("tbody tr").Filter(new() { HasText = reason });
            await Expect(entry).ToHaveCountAsync(1);
            await Expect(entry).ToContainTextAsync(Stack.AdminEmail);
            await Expect(entry).ToContainTextAsync("console");
            await ScreenshotAsync(page, "audit-support");
        });

    /// <summary>
    /// Nothing on a support page can change the organization: the only forms that post are the session's end and the
    /// sign-out, and there is no text area or editing button.
    /// </summary>
    private static async Task ExpectNoWriteControlsAsync(IPage page)
    {
        var postingForms = page.Locator("form[method='post' i]");
        for (var i = 0; i < await postingForms.CountAsync(); i++)
        {
            var buttons = await postingForms.Nth(i).GetByRole(AriaRole.Button).AllInnerTextsAsync();
            buttons.Select(b => b.Trim()).ShouldAllBe(b => b == "End session" || b == "Sign out",
                $"a support page posts a form with buttons {string.Join(", ", buttons)}");
        }

        (await page.Locator("textarea").CountAsync()).ShouldBe(0);
        var editing = new Regex(@"^(Save|Create|Add|New|Edit|Update|Delete|Remove|Import)\b", RegexOptions.IgnoreCase);
        (await page.GetByRole(AriaRole.Button).AllInnerTextsAsync()).ShouldNotContain(b => editing.IsMatch(b.Trim()));
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "End session", Exact = true })).ToBeVisibleAsync();
    }
}
