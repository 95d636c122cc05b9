using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using CleanCrm.ConsoleTests.Support;
using Microsoft.Playwright;
using MimeKit;
using static Microsoft.Playwright.Assertions;

namespace CleanCrm.ConsoleTests.Account;

/// <summary>
/// The API's account pages in headless Chromium against the real processes: sign in, forgot and reset password with the
/// mail from the SMTP sink, email verification, TOTP two-factor with recovery codes and an organization that requires
/// two-factor. Screenshots of each page go to .local/test-results (and to docs/security with
/// CLEANCRM_UPDATE_DOCS_SCREENSHOTS=1).
/// </summary>
public sealed partial class AccountPagesTests(ConsoleStack stack) : ConsoleTest(stack)
{
    private const string NewPassword = "Lantern quietly 8 rivers!";

    [Fact]
    public Task A_wrong_password_shows_one_message_for_known_and_unknown_emails_and_the_page_fits_phone_and_desktop() =>
        ScenarioAsync(nameof(A_wrong_password_shows_one_message_for_known_and_unknown_emails_and_the_page_fits_phone_and_desktop),
            async page =>
            {
                var organization = await Stack.Api.SignUpAsync("signin");
                await OpenApiPageAsync(page, "/account/login");
                await ExpectHeadingAsync(page, "Sign in to CleanCrm");
                (await page.EvaluateAsync<string>("document.activeElement.id")).ShouldBe("email", "the first field has focus");
                await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Forgot your password?" })).ToBeVisibleAsync();
                await DocsScreenshotAsync(page, "sign-in");

                var messages = new List<string>();
                foreach (var email in new[] { organization.OwnerEmail, $"nobody-{Guid.NewGuid():N}@signin.console.test" })
                {
                    await page.GetByLabel("Email").FillAsync(email);
                    await page.GetByLabel("Password").FillAsync("not the right password");
                    var answer = await SubmitAsync(page, "Sign in");
                    answer.ShouldBe(400);
                    messages.Add(await ExpectReadableErrorAsync(page));
                }

                messages.Distinct().ShouldHaveSingleItem().ShouldBe("The email or password is incorrect.");
                (await page.GetByRole(AriaRole.Alert).GetAttributeAsync("aria-live")).ShouldBe("assertive");
                await DocsScreenshotAsync(page, "sign-in-error");

                // Empty password: the error sits next to the field, which says so to screen readers and gets focus.
                await page.GetByLabel("Password").FillAsync(string.Empty);
                (await SubmitAsync(page, "Sign in")).ShouldBe(400);
                var password = page.GetByLabel("Password");
                await Expect(password).ToHaveAttributeAsync("aria-invalid", "true");
                await Expect(page.Locator("#password-error")).ToHaveTextAsync("Enter your password.");
                await Expect(password).ToBeFocusedAsync();

                foreach (var width in new[] { 375, 1280 })
                {
                    await page.SetViewportSizeAsync(width, 800);
                    (await page.EvaluateAsync<int>("document.documentElement.scrollWidth")).ShouldBeLessThanOrEqualTo(width,
                        $"no horizontal scrolling at {width} px");
                    var box = await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).BoundingBoxAsync();
                    box.ShouldNotBeNull();
                    (box.X + box.Width).ShouldBeLessThanOrEqualTo(width);
                }

                await page.SetViewportSizeAsync(375, 740);
                await OpenApiPageAsync(page, "/account/login");
                await DocsScreenshotAsync(page, "sign-in-375px");
            });

    [Fact]
    public Task Forgot_password_mails_a_link_that_resets_the_password_and_the_old_refresh_token_is_refused() =>
        ScenarioAsync(nameof(Forgot_password_mails_a_link_that_resets_the_password_and_the_old_refresh_token_is_refused), async page =>
        {
            var organization = await Stack.Api.SignUpAsync("reset");
            var refreshToken = (await PasswordGrantAsync(organization.OwnerEmail, organization.OwnerPassword))
                .GetProperty("refresh_token").GetString()!;

            await OpenApiPageAsync(page, "/account/login");
            await page.GetByRole(AriaRole.Link, new() { Name = "Forgot your password?" }).ClickAsync();
            await ExpectHeadingAsync(page, "Forgot your password?");
            await DocsScreenshotAsync(page, "forgot-password");
            await page.GetByLabel("Email").FillAsync(organization.OwnerEmail);
            await page.GetByRole(AriaRole.Button, new() { Name = "Send reset link" }).ClickAsync();
            await ExpectHeadingAsync(page, "Check your inbox");

            var mail = await Stack.Mail.WaitForAsync(organization.OwnerEmail, m => m.Subject!.Contains("Reset", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60));
            await page.GotoAsync(LinkOf(mail, "reset-password"));
            await ExpectHeadingAsync(page, "Choose a new password");
            await page.GetByLabel("New password", new() { Exact = true }).FillAsync(NewPassword);
            await page.GetByLabel("Confirm new password").FillAsync("something different 123");
            await page.GetByRole(AriaRole.Button, new() { Name = "Set new password" }).ClickAsync();
            await Expect(page.Locator("#confirmPassword-error")).ToHaveTextAsync("The two passwords are not the same.");
            await DocsScreenshotAsync(page, "reset-password");
            await page.GetByLabel("New password", new() { Exact = true }).FillAsync(NewPassword);
            await page.GetByLabel("Confirm new password").FillAsync(NewPassword);
            await page.GetByRole(AriaRole.Button, new() { Name = "Set new password" }).ClickAsync();
            await ExpectHeadingAsync(page, "Password changed");

            (await RefreshStatusAsync(refreshToken)).ShouldBe(HttpStatusCode.BadRequest, "the refresh token from before the reset");
            await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with your new password" }).ClickAsync();
            await SignInOnPageAsync(page, organization.OwnerEmail, NewPassword);
            await ExpectHeadingAsync(page, "You are signed in");

            // The link worked once.
            await page.GotoAsync(LinkOf(mail, "reset-password"));
            await page.GetByLabel("New password", new() { Exact = true }).FillAsync("Another fresh 9 passphrase");
            await page.GetByLabel("Confirm new password").FillAsync("Another fresh 9 passphrase");
            await page.GetByRole(AriaRole.Button, new() { Name = "Set new password" }).ClickAsync();
            await ExpectHeadingAsync(page, "This link does not work");
        });

    [Fact]
    public Task The_verification_link_from_the_signup_mail_verifies_the_email() =>
        ScenarioAsync(nameof(The_verification_link_from_the_signup_mail_verifies_the_email), async page =>
        {
            var organization = await Stack.Api.SignUpAsync("verify");
            var mail = await Stack.Mail.WaitForAsync(organization.OwnerEmail, m => m.Subject!.Contains("Verify", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60));
            await page.GotoAsync(LinkOf(mail, "verify-email"));
            await ExpectHeadingAsync(page, "Verify your email address");
            await DocsScreenshotAsync(page, "verify-email");
            await page.GetByRole(AriaRole.Button, new() { Name = "Verify my email address" }).ClickAsync();
            await ExpectHeadingAsync(page, "Email verified");
            await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync(organization.OwnerEmail);
        });

    [Fact]
    public Task A_user_with_totp_signs_in_with_a_code_and_a_recovery_code_works_once() =>
        ScenarioAsync(nameof(A_user_with_totp_signs_in_with_a_code_and_a_recovery_code_works_once), async page =>
        {
            var organization = await Stack.Api.SignUpAsync("totp");
            using var api = Bearer(organization.OwnerToken);
            var enrolment = await (await api.PostAsync("/api/v1/me/two-factor/enrol", null)).Content.ReadFromJsonAsync<JsonElement>();
            var key = enrolment.GetProperty("sharedKey").GetString()!;
            await StartOfTotpStepAsync();
            var confirmed = await api.PostAsJsonAsync("/api/v1/me/two-factor/confirm", new { code = TotpCode(key, 0) });
            confirmed.StatusCode.ShouldBe(HttpStatusCode.OK, await confirmed.Content.ReadAsStringAsync());
            var recoveryCode = (await confirmed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("recoveryCodes")[0].GetString()!;

            await OpenApiPageAsync(page, "/account/login");
            await SignInOnPageAsync(page, organization.OwnerEmail, organization.OwnerPassword);
            await ExpectHeadingAsync(page, "Two-factor authentication");
            await DocsScreenshotAsync(page, "two-factor");
            var valid = new[] { -1, 0, 1, 2 }.Select(step => TotpCode(key, step)).ToHashSet();
            await page.GetByLabel("Authentication code").FillAsync(
                Enumerable.Range(0, 10).Select(d => new string((char)('0' + d), 6)).First(code => !valid.Contains(code)));
            (await SubmitAsync(page, "Verify")).ShouldBe(400);
            await Expect(page.Locator("#code-error")).ToContainTextAsync("not valid");
            await page.GetByLabel("Authentication code").FillAsync(TotpCode(key, 1));
            await page.GetByRole(AriaRole.Button, new() { Name = "Verify" }).ClickAsync();
            await ExpectHeadingAsync(page, "You are signed in");

            for (var attempt = 0; attempt < 2; attempt++)
            {
                await page.Context.ClearCookiesAsync();
                await OpenApiPageAsync(page, "/account/login");
                await SignInOnPageAsync(page, organization.OwnerEmail, organization.OwnerPassword);
                await page.GetByRole(AriaRole.Link, new() { Name = "Use a recovery code instead" }).ClickAsync();
                await ExpectHeadingAsync(page, "Use a recovery code");
                if (attempt == 0)
                {
                    await DocsScreenshotAsync(page, "recovery-code");
                }

                await page.GetByLabel("Recovery code", new() { Exact = true }).FillAsync(recoveryCode);
                await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
                if (attempt == 0)
                {
                    await ExpectHeadingAsync(page, "You are signed in");
                }
                else
                {
                    await Expect(page.Locator("#recoveryCode-error")).ToContainTextAsync("already used");
                }
            }
        });

    [Fact]
    public Task A_member_of_an_org_that_requires_two_factor_is_made_to_enrol_at_sign_in() =>
        ScenarioAsync(nameof(A_member_of_an_org_that_requires_two_factor_is_made_to_enrol_at_sign_in), async page =>
        {
            var organization = await Stack.Api.SignUpAsync("policy");
            using (var api = Bearer(organization.OwnerToken))
            {
                var set = await api.PutAsJsonAsync($"/api/v1/orgs/{organization.Slug}/security", new { requireTwoFactor = true });
                set.StatusCode.ShouldBe(HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
            }

            await OpenApiPageAsync(page, "/account/login");
            await SignInOnPageAsync(page, organization.OwnerEmail, organization.OwnerPassword);
            await ExpectHeadingAsync(page, "Set up two-factor authentication");
            await Expect(page.GetByRole(AriaRole.Img, new() { Name = "QR code of the two-factor key" })).ToBeVisibleAsync();
            await DocsScreenshotAsync(page, "two-factor-setup");
            var key = (await page.GetByTestId("totp-key").InnerTextAsync()).Trim();
            await StartOfTotpStepAsync();
            await page.GetByLabel("Code from the app").FillAsync(TotpCode(key, 0));
            await page.GetByRole(AriaRole.Button, new() { Name = "Turn on two-factor" }).ClickAsync();
            await ExpectHeadingAsync(page, "Save your recovery codes");
            (await page.GetByTestId("recovery-codes").Locator("li").CountAsync()).ShouldBe(10);
            await DocsScreenshotAsync(page, "recovery-codes");
            await page.GetByRole(AriaRole.Link, new() { Name = "Continue" }).ClickAsync();
            await ExpectHeadingAsync(page, "You are signed in");

            // From now on the sign-in asks for the code.
            await page.Context.ClearCookiesAsync();
            await OpenApiPageAsync(page, "/account/login");
            await SignInOnPageAsync(page, organization.OwnerEmail, organization.OwnerPassword);
            await ExpectHeadingAsync(page, "Two-factor authentication");
        });

    private async Task OpenApiPageAsync(IPage page, string path)
    {
        var response = await page.GotoAsync(new Uri(Stack.ApiUrl, path).ToString());
        response.ShouldNotBeNull();
        response.Status.ShouldBe(200, path);
    }

    /// <summary>Clicks the form's button and waits for the page the server answers with; returns its status.</summary>
    private static async Task<int> SubmitAsync(IPage page, string button)
    {
        var response = await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = button, Exact = true }).ClickAsync(),
            r => r.Request.Method == "POST" && r.Request.IsNavigationRequest);
        await page.WaitForLoadStateAsync(LoadState.DOMContentLoaded);
        return response.Status;
    }

    private static async Task SignInOnPageAsync(IPage page, string email, string password)
    {
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    /// <summary>A screenshot for the test results and, with CLEANCRM_UPDATE_DOCS_SCREENSHOTS=1, for docs/SECURITY.md.</summary>
    private async Task DocsScreenshotAsync(IPage page, string name)
    {
        await ScreenshotAsync(page, $"account-{name}");
        if (Environment.GetEnvironmentVariable("CLEANCRM_UPDATE_DOCS_SCREENSHOTS") == "1")
        {
            var directory = Path.Combine(Stack.RepositoryRoot, "docs", "security");
            Directory.CreateDirectory(directory);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, $"{name}.png") });
        }
    }

    private HttpClient Bearer(string token)
    {
        var client = new HttpClient { BaseAddress = Stack.ApiUrl, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private async Task<JsonElement> PasswordGrantAsync(string email, string password)
    {
        using var client = new HttpClient { BaseAddress = Stack.ApiUrl, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["client_id"] = "cleancrm-cli",
            ["username"] = email,
            ["password"] = password,
            ["scope"] = "openid offline_access api",
        }));
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<HttpStatusCode> RefreshStatusAsync(string refreshToken)
    {
        using var client = new HttpClient { BaseAddress = Stack.ApiUrl, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["client_id"] = "cleancrm-cli",
            ["refresh_token"] = refreshToken,
        }));
        return response.StatusCode;
    }

    /// <summary>The mail's link to an account page, on this run's API (the mail names the API's address).</summary>
    private static string LinkOf(MimeMessage mail, string page)
    {
        var match = Regex.Match(mail.TextBody ?? string.Empty, $@"(https?://\S+/account/{page}\?token=[A-Za-z0-9_%-]+)");
        match.Success.ShouldBeTrue(mail.TextBody);
        return match.Groups[1].Value;
    }

    /// <summary>
    /// A code is accepted one 30 s step early or late and each step once, so a scenario uses steps 0 and +1 of one moment;
    /// near the end of a step it first waits for the next one, so "now" cannot move by a step in the middle.
    /// </summary>
    private static async Task StartOfTotpStepAsync()
    {
        var into = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() % 30_000;
        if (into > 10_000)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(30_000 - into + 200));
        }
    }

    /// <summary>RFC 6238 (HMAC-SHA1, 30 s, 6 digits), written here on its own so the test checks the server's implementation.</summary>
    private static string TotpCode(string base32Key, int stepsFromNow)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var bits = string.Concat(base32Key.Select(c => Convert.ToString(alphabet.IndexOf(c, StringComparison.Ordinal), 2).PadLeft(5, '0')));
        var key = Enumerable.Range(0, bits.Length / 8).Select(i => Convert.ToByte(bits.Substring(i * 8, 8), 2)).ToArray();
        var counter = BitConverter.GetBytes(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 30 + stepsFromNow);
        if (BitConverter.IsLittleEndian)
        {
            Array.Reverse(counter);
        }

        var hash = HMACSHA1.HashData(key, counter);
        var offset = hash[^1] & 0x0f;
        var value = ((hash[offset] & 0x7f) << 24) | (hash[offset + 1] << 16) | (hash[offset + 2] << 8) | hash[offset + 3];
        return (value % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
    }
}
