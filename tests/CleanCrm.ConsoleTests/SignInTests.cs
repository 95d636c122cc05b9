using System.Text.RegularExpressions;
using CleanCrm.ConsoleTests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CleanCrm.ConsoleTests;

/// <summary>Who gets into the console: the real OpenID Connect flow against the API, platform admins only.</summary>
public sealed class SignInTests(ConsoleStack stack) : ConsoleTest(stack)
{
    [Fact]
    public Task An_admin_signs_in_on_the_api_sign_in_page_and_lands_on_the_fleet_overview() =>
        ScenarioAsync(nameof(An_admin_signs_in_on_the_api_sign_in_page_and_lands_on_the_fleet_overview), async page =>
        {
            await SignInAsAdminAsync(page);

            await Expect(page).ToHaveURLAsync(new Regex($"^{Regex.Escape(Stack.ConsoleUrl.ToString())}"));
            var navigation = page.GetByRole(AriaRole.Navigation);
            foreach (var link in new[] { "Overview", "Organizations", "Migrations", "Database servers", "Audit log", "Jobs" })
            {
                await Expect(navigation.GetByRole(AriaRole.Link, new() { Name = link, Exact = true })).ToBeVisibleAsync();
            }

            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out", Exact = true })).ToBeVisibleAsync();
            await Expect(page.GetByTestId("count-active")).ToHaveTextAsync(new Regex(@"\d"));
            await ScreenshotAsync(page, "overview");
        });

    [Fact]
    public Task A_user_who_is_not_a_platform_admin_is_refused_with_access_denied_and_403() =>
        ScenarioAsync(nameof(A_user_who_is_not_a_platform_admin_is_refused_with_access_denied_and_403), async page =>
        {
            // An organization's owner: a real user of the product, but no platform admin.
            var organization = await Stack.Api.SignUpAsync("denied");

            await SignInAsync(page, organization.OwnerEmail, organization.OwnerPassword);
            await ExpectHeadingAsync(page, "Access denied");
            await ScreenshotAsync(page, "access-denied");

            foreach (var path in new[] { "/", "/organizations", $"/organizations/{organization.Id}", "/servers", "/jobs" })
            {
                var response = await page.GotoAsync(path);
                response.ShouldNotBeNull();
                response.Status.ShouldBe(403, $"{path} for a non-admin");
                await ExpectHeadingAsync(page, "Access denied");
                (await page.GetByRole(AriaRole.Table).CountAsync()).ShouldBe(0, $"{path} shows a table to a non-admin");
            }

            // Nor can the user act by posting a console form directly (with the browser's cookies): refused, nothing changed.
            await Stack.Api.WaitForStatusAsync(organization, "active", TimeSpan.FromSeconds(90));
            var posted = await page.APIRequest.PostAsync($"/organizations/{organization.Id}?handler=Suspend",
                new() { Form = page.APIRequest.CreateFormData().Set("reason", "not an admin"), MaxRedirects = 0 });
            posted.Status.ShouldBe(403);
            (await Stack.Api.GetAsOwnerAsync(organization, "/api/v1/features")).Status.ShouldBe(System.Net.HttpStatusCode.OK);
        });

    [Fact]
    public Task Signing_out_ends_the_server_session_so_the_next_visit_asks_for_the_password() =>
        ScenarioAsync(nameof(Signing_out_ends_the_server_session_so_the_next_visit_asks_for_the_password), async page =>
        {
            await SignInAsAdminAsync(page);

            await page.GetByRole(AriaRole.Button, new() { Name = "Sign out", Exact = true }).ClickAsync();
            // Back from the API's end-session endpoint: both sessions are over.
            await ExpectHeadingAsync(page, "Signed out");
            await Expect(page).ToHaveURLAsync(new Regex($"^{Regex.Escape(Stack.ConsoleUrl.ToString())}signed-out"));

            // Neither the console's cookie nor the API's sign-in session lets the same browser back in.
            await page.GotoAsync("/");
            await Expect(page).ToHaveURLAsync(new Regex($"^{Regex.Escape(Stack.ApiUrl.ToString().TrimEnd('/'))}/account/login"));
            await Expect(page.GetByLabel("Password")).ToBeVisibleAsync();
            await page.GotoAsync("/organizations");
            await Expect(page.GetByLabel("Password")).ToBeVisibleAsync();
        });

    [Fact]
    public Task The_hangfire_dashboard_at_jobs_loads_for_an_admin() =>
        ScenarioAsync(nameof(The_hangfire_dashboard_at_jobs_loads_for_an_admin), async page =>
        {
            await SignInAsAdminAsync(page);

            var response = await page.RunAndWaitForResponseAsync(
                () => page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Jobs", Exact = true }).ClickAsync(),
                r => r.Request.IsNavigationRequest && new Uri(r.Url).AbsolutePath.TrimEnd('/') == "/jobs");
            response.Status.ShouldBe(200);
            await Expect(page).ToHaveURLAsync(new Regex("/jobs"));
            await Expect(page.GetByText(new Regex("Recurring jobs", RegexOptions.IgnoreCase)).First).ToBeVisibleAsync();
            await ScreenshotAsync(page, "jobs");
        });
}
