using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using CleanCrm.ConsoleTests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CleanCrm.ConsoleTests;

/// <summary>Finding an organization and acting on it; every effect is checked from outside, through the org's own API calls.</summary>
public sealed class OrganizationTests(ConsoleStack stack) : ConsoleTest(stack)
{
    [Fact]
    public Task A_signup_appears_in_the_list_and_its_provisioning_timeline_reaches_active() =>
        ScenarioAsync(nameof(A_signup_appears_in_the_list_and_its_provisioning_timeline_reaches_active), async page =>
        {
            var organization = await Stack.Api.SignUpAsync("listed");
            await SignInAsAdminAsync(page);

            await page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Organizations", Exact = true }).ClickAsync();
            await ExpectHeadingAsync(page, "Organizations");
            var filter = Form(page, "Filter organizations");
            await filter.GetByLabel("Search", new() { Exact = true }).FillAsync(organization.Slug);
            await Button(filter, "Apply").ClickAsync();

            var rows = Table(page, "Organizations").Locator("tbody tr");
            await Expect(rows).ToHaveCountAsync(1);
            await Expect(rows.First).ToContainTextAsync(organization.Slug);
            await ScreenshotAsync(page, "organizations");

            await rows.First.GetByRole(AriaRole.Link, new() { Name = organization.Name, Exact = true }).ClickAsync();
            await ExpectHeadingAsync(page, organization.Name);
            await Expect(page).ToHaveURLAsync(new Regex($"/organizations/{organization.Id}$", RegexOptions.IgnoreCase));
            foreach (var section in new[]
                     {
                         "Provisioning", "Lifecycle", "Plan and overrides", "Members", "Usage this month", "Backups", "Database",
                         "Support access",
                     })
            {
                await Expect(page.GetByRole(AriaRole.Heading, new() { Name = section, Exact = true, Level = 2 })).ToBeVisibleAsync();
            }

            // Live: the page follows the run without a reload.
            await ExpectOrganizationStatusAsync(page, "active");
            var timeline = Table(page, "Provisioning timeline");
            foreach (var step in CleanCrm.Domain.Catalog.ProvisioningSteps.All)
            {
                await Expect(timeline.Locator("tbody tr").Filter(new() { HasText = step }).First).ToContainTextAsync("succeeded");
            }

            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Retry provisioning" })).ToHaveCountAsync(0);
            await ScreenshotAsync(page, "organization-detail");
        });

    [Fact]
    public Task Suspending_with_a_reason_refuses_the_orgs_api_calls_and_resuming_lets_them_in_again() =>
        ScenarioAsync(nameof(Suspending_with_a_reason_refuses_the_orgs_api_calls_and_resuming_lets_them_in_again), async page =>
        {
            var organization = await Stack.Api.ActiveOrganizationAsync("suspend");
            (await Stack.Api.GetAsOwnerAsync(organization, "/api/v1/features")).Status.ShouldBe(HttpStatusCode.OK);
            await SignInAsAdminAsync(page);
            await OpenOrganizationAsync(page, organization);
            await ExpectOrganizationStatusAsync(page, "active");

            var suspend = Form(page, "Suspend organization");
            await suspend.GetByLabel("Reason").FillAsync("Unpaid invoices (console test)");
            await Button(suspend, "Suspend organization").ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasTextRegex = new Regex(@"\S") }).First).ToBeVisibleAsync();
            await ExpectOrganizationStatusAsync(page, "suspended");

            var (status, problem) = await Stack.Api.GetAsOwnerAsync(organization, "/api/v1/features");
            status.ShouldBe(HttpStatusCode.Forbidden, problem.ToString());
            problem.GetProperty("code").GetString().ShouldBe("org_suspended");

            var resume = Form(page, "Resume organization");
            await resume.GetByLabel("Reason").FillAsync("Paid (console test)");
            await Button(resume, "Resume organization").ClickAsync();
            await ExpectOrganizationStatusAsync(page, "active");
            (await Stack.Api.GetAsOwnerAsync(organization, "/api/v1/features")).Status.ShouldBe(HttpStatusCode.OK);

            // Both actions are in the platform audit log with their reasons, done by this admin from the console.
            await page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Audit log", Exact = true }).ClickAsync();
            var entries = Table(page, "Platform audit log").Locator("tbody tr").Filter(new() { HasText = organization.Slug });
            foreach (var (action, reason) in new[]
                     {
                         ("organization.suspend", "Unpaid invoices (console test)"), ("organization.resume", "Paid (console test)"),
                     })
            {
                var entry = entries.Filter(new() { HasText = reason });
                await Expect(entry).ToHaveCountAsync(1);
                await Expect(entry).ToContainTextAsync(action);
                await Expect(entry).ToContainTextAsync(Stack.AdminEmail);
                await Expect(entry).ToContainTextAsync("succeeded");
            }

            await ScreenshotAsync(page, "audit");
        });

    [Fact]
    public Task Suspending_without_a_reason_shows_a_readable_error_and_changes_nothing() =>
        ScenarioAsync(nameof(Suspending_without_a_reason_shows_a_readable_error_and_changes_nothing), async page =>
        {
            var organization = await Stack.Api.ActiveOrganizationAsync("noreason");
            await SignInAsAdminAsync(page);
            await OpenOrganizationAsync(page, organization);

            var suspend = Form(page, "Suspend organization");
            await DisableBrowserValidationAsync(suspend);
            await suspend.GetByLabel("Reason").FillAsync(string.Empty);
            await Button(suspend, "Suspend organization").ClickAsync();

            (await ExpectReadableErrorAsync(page)).ShouldContain("reason", Case.Insensitive);
            await page.ReloadAsync();
            await ExpectOrganizationStatusAsync(page, "active");
            (await Stack.Api.GetAsOwnerAsync(organization, "/api/v1/features")).Status.ShouldBe(HttpStatusCode.OK);
        });

    [Fact]
    public Task Deleting_with_a_wrong_slug_confirmation_shows_a_readable_error_and_changes_nothing() =>
        ScenarioAsync(nameof(Deleting_with_a_wrong_slug_confirmation_shows_a_readable_error_and_changes_nothing), async page =>
        {
            var organization = await Stack.Api.ActiveOrganizationAsync("nodelete");
            await SignInAsAdminAsync(page);
            await OpenOrganizationAsync(page, organization);

            var delete = Form(page, "Delete organization");
            await Expect(delete).ToContainTextAsync(new Regex("backup", RegexOptions.IgnoreCase));
            await DisableBrowserValidationAsync(delete);
            await delete.GetByLabel("Type the slug to confirm").FillAsync(organization.Slug + "-typo");
            await delete.GetByLabel("Reason").FillAsync("Customer asked to close the account (console test)");
            await Button(delete, "Delete organization").ClickAsync();

            (await ExpectReadableErrorAsync(page)).ShouldContain(organization.Slug);
            await page.ReloadAsync();
            await ExpectOrganizationStatusAsync(page, "active");
            (await Stack.Api.GetAsOwnerAsync(organization, "/api/v1/features")).Status.ShouldBe(HttpStatusCode.OK);
        });

    [Fact]
    public Task A_failed_provisioning_is_retried_from_the_console_until_active() =>
        ScenarioAsync(nameof(A_failed_provisioning_is_retried_from_the_console_until_active), async page =>
        {
            // The fault: no server takes new tenants (every one draining), so the run fails at "reserve" after its retries.
            // The browser tests share one collection and never run at the same time, so no other signup sees it.
            TestOrganization organization;
            await Stack.ExecuteCatalogAsync("UPDATE database_servers SET status = 'draining'");
            try
            {
                organization = await Stack.Api.SignUpAsync("retry");
                await Stack.Api.WaitForStatusAsync(organization, "failed", TimeSpan.FromSeconds(60));
            }
            finally
            {
                await Stack.ExecuteCatalogAsync("UPDATE database_servers SET status = 'active'");
            }

            await SignInAsAdminAsync(page);
            await OpenOrganizationAsync(page, organization);
            await ExpectOrganizationStatusAsync(page, "failed");
            var timeline = Table(page, "Provisioning timeline");
            await Expect(timeline.Locator("tbody tr").Filter(new() { HasText = "reserve" }).First).ToContainTextAsync("failed");

            await Button(page.Locator("body"), "Retry provisioning").ClickAsync();
            await ExpectOrganizationStatusAsync(page, "active");
            await Expect(timeline.Locator("tbody tr").Filter(new() { HasText = "activate" }).First).ToContainTextAsync("succeeded");
            (await Stack.Api.GetAsOwnerAsync(organization, "/api/v1/features")).Status.ShouldBe(HttpStatusCode.OK);
        });

    [Fact]
    public Task A_feature_override_changes_what_the_orgs_api_reports() =>
        ScenarioAsync(nameof(A_feature_override_changes_what_the_orgs_api_reports), async page =>
        {
            var organization = await Stack.Api.ActiveOrganizationAsync("feature");
            var before = await FeaturesAsync(organization);
            // A premium feature the free plan does not include.
            var key = before.First(feature => !feature.Value).Key;
            await SignInAsAdminAsync(page);
            await OpenOrganizationAsync(page, organization);
            await Expect(Table(page, "Features")).ToBeVisibleAsync();

            var form = Form(page, $"Override {key}");
            await form.GetByLabel("Value").SelectOptionAsync(new SelectOptionValue { Label = "on" });
            await Button(form, "Save override").ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasTextRegex = new Regex(@"\S") }).First).ToBeVisibleAsync();
            await EventuallyAsync(async () => (await FeaturesAsync(organization))[key], $"{key} on for {organization.Slug}");

            await Button(Form(page, $"Override {key}"), "Clear override").ClickAsync();
            await EventuallyAsync(async () => !(await FeaturesAsync(organization))[key], $"{key} back to the plan's off");
        });

    private async Task<Dictionary<string, bool>> FeaturesAsync(TestOrganization organization)
    {
        var (status, body) = await Stack.Api.GetAsOwnerAsync(organization, "/api/v1/features");
        status.ShouldBe(HttpStatusCode.OK, body.ToString());
        return body.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.True, StringComparer.Ordinal);
    }
}
