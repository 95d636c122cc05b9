using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using CleanCrm.Application.Common.Identity;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>
/// Password reset, email verification, password and email change, two-factor and the organization's two-factor policy,
/// through the real API host, its account pages and the real worker sending mail to an in-process SMTP server.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed partial class AccountSecurityTests(SharedPlatform platform) : IAsyncLifetime
{
    private const string Password = "correct horse battery staple";
    private ApiFactory _api = null!;
    private WorkerHostRunner _worker = null!;

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        _worker = await WorkerHostRunner.StartAsync(platform);
    }

    public async Task DisposeAsync() => await _worker.DisposeAsync();

    [Fact]
    public async Task Forgot_password_mails_a_single_use_link_that_resets_the_password_and_ends_every_session()
    {
        var user = await UserWithPasswordAsync();
        var refresh = (await PasswordGrantAsync(user.Email, Password)).GetProperty("refresh_token").GetString()!;
        var browser = new AccountPagesClient(_api);

        (await browser.GetAsync("/account/forgot-password")).Status.ShouldBe(HttpStatusCode.OK);
        var known = await browser.PostAsync("/account/forgot-password", new() { ["email"] = user.Email.ToUpperInvariant() });
        known.Status.ShouldBe(HttpStatusCode.OK, known.Html);
        await browser.GetAsync("/account/forgot-password");
        var unknownEmail = $"nobody-{Guid.NewGuid():N}@example.com";
        var unknown = await browser.PostAsync("/account/forgot-password", new() { ["email"] = unknownEmail });
        // Same answer for an address without an account: nobody learns which emails have one.
        unknown.Status.ShouldBe(known.Status);
        unknown.Html.Replace(unknownEmail, "X", StringComparison.Ordinal)
            .ShouldBe(known.Html.Replace(user.Email.ToUpperInvariant(), "X", StringComparison.Ordinal));
        await browser.GetAsync("/account/forgot-password");
        var invalid = await browser.PostAsync("/account/forgot-password", new() { ["email"] = "not an email" });
        invalid.Status.ShouldBe(HttpStatusCode.BadRequest);
        AccountPagesClient.TextOf(invalid.Html, "email-error").ShouldContain("email address");

        var mail = await platform.Mail.WaitForAsync(user.Email, m => m.Subject!.Contains("Reset", StringComparison.Ordinal));
        mail.TextBody!.ShouldContain("30 minutes");
        var link = LinkOf(mail, "reset-password");
        var token = System.Web.HttpUtility.ParseQueryString(link.Query)["token"]!;
        (await CatalogScalarAsync<long>("SELECT count(*) FROM account_tokens WHERE token_hash = $1", AccountSecurity.HashToken(token)))
            .ShouldBe(1, "only the token's hash is stored");
        (await CatalogScalarAsync<long>("SELECT count(*) FROM account_tokens WHERE token_hash = $1", token)).ShouldBe(0);
        platform.Mail.CountTo(unknownEmail).ShouldBe(0);

        var form = await browser.GetAsync(link.PathAndQuery);
        form.Status.ShouldBe(HttpStatusCode.OK);
        var mismatch = await browser.PostAsync("/account/reset-password",
            new() { ["token"] = token, ["newPassword"] = "a brand new passphrase", ["confirmPassword"] = "something else entirely" });
        mismatch.Status.ShouldBe(HttpStatusCode.BadRequest);
        AccountPagesClient.TextOf(mismatch.Html, "confirmPassword-error").ShouldContain("not the same");
        var weak = await browser.PostAsync("/account/reset-password",
            new() { ["token"] = token, ["newPassword"] = "short", ["confirmPassword"] = "short" });
        weak.Status.ShouldBe(HttpStatusCode.BadRequest);
        AccountPagesClient.TextOf(weak.Html, "newPassword-error").ShouldContain("at least 12 characters");
        (await PasswordGrantStatusAsync(user.Email, Password)).ShouldBe(HttpStatusCode.OK, "a refused reset changed nothing");

        var done = await browser.PostAsync("/account/reset-password",
            new() { ["token"] = token, ["newPassword"] = "a brand new passphrase", ["confirmPassword"] = "a brand new passphrase" });
        done.Status.ShouldBe(HttpStatusCode.OK, done.Html);
        done.Html.ShouldContain("signed out everywhere");

        // Single use; the old password and every refresh token from before are refused.
        await browser.GetAsync(link.PathAndQuery);
        var again = await browser.PostAsync("/account/reset-password",
            new() { ["token"] = token, ["newPassword"] = "yet another passphrase", ["confirmPassword"] = "yet another passphrase" });
        again.Status.ShouldBe(HttpStatusCode.BadRequest);
        again.Html.ShouldContain("invalid, already used or expired");
        (await RefreshStatusAsync(refresh)).ShouldBe(HttpStatusCode.BadRequest);
        (await PasswordGrantStatusAsync(user.Email, Password)).ShouldBe(HttpStatusCode.BadRequest);
        (await PasswordGrantStatusAsync(user.Email, "a brand new passphrase")).ShouldBe(HttpStatusCode.OK);
        (await CatalogScalarAsync<long>(
            "SELECT count(*) FROM \"OpenIddictTokens\" WHERE subject = $1 AND type = 'refresh_token' AND status = 'valid' " +
            "AND creation_date < (SELECT max(used_at) FROM account_tokens WHERE user_id = $2)", user.Id.ToString(), user.Id))
            .ShouldBe(0, "refresh tokens issued before the reset are revoked at the server");
    }

    [Fact]
    public async Task A_reset_link_expires_after_30_minutes_and_a_newer_link_replaces_an_older_one()
    {
        var user = await UserWithPasswordAsync();
        var browser = new AccountPagesClient(_api);
        await browser.GetAsync("/account/forgot-password");
        await browser.PostAsync("/account/forgot-password", new() { ["email"] = user.Email });
        var first = LinkOf(await platform.Mail.WaitForAsync(user.Email), "reset-password");
        (await CatalogScalarAsync<long>(
                "SELECT count(*) FROM account_tokens WHERE user_id = $1 AND expires_at BETWEEN created_at + interval '29 minutes' " +
                "AND created_at + interval '31 minutes'", user.Id)).ShouldBe(1);
        await browser.GetAsync("/account/forgot-password");
        await browser.PostAsync("/account/forgot-password", new() { ["email"] = user.Email });
        await EventuallyAsync(() => Task.FromResult(platform.Mail.CountTo(user.Email) == 2));
        var second = platform.Mail.Messages.Where(m => m.To.ToString().Contains(user.Email, StringComparison.OrdinalIgnoreCase))
            .Select(m => LinkOf(m, "reset-password")).Single(l => l != first);

        await browser.GetAsync(first.PathAndQuery);
        (await ResetAsync(browser, first)).Status.ShouldBe(HttpStatusCode.BadRequest, "replaced by the newer link");
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE account_tokens SET expires_at = now() - interval '1 minute' WHERE user_id = '{user.Id}'", platform.CatalogDatabase);
        await browser.GetAsync(second.PathAndQuery);
        (await ResetAsync(browser, second)).Status.ShouldBe(HttpStatusCode.BadRequest, "expired");
        (await PasswordGrantStatusAsync(user.Email, Password)).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Signing_up_mails_a_verification_link_and_unverified_users_may_sign_in_unless_configured()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var email = $"owner-{suffix}@verify.example.com";
        var signup = await _api.CreateClient().PostAsJsonAsync("/api/v1/signup", new
        {
            organizationName = $"Verify {suffix}",
            slug = $"verify-{suffix}",
            ownerEmail = email,
            ownerName = "Vera Owner",
            ownerPassword = Password,
            plan = "free",
        });
        signup.StatusCode.ShouldBe(HttpStatusCode.Accepted, await signup.Content.ReadAsStringAsync());
        (await CatalogScalarAsync<long>("SELECT count(*) FROM organizations WHERE slug = $1", $"verify-{suffix}")).ShouldBe(1);
        (await PasswordGrantStatusAsync(email, Password)).ShouldBe(HttpStatusCode.OK, "RequireVerifiedEmail is off by default");

        await using var strict =
            new ApiFactory(platform, new Dictionary<string, string?> { ["CleanCrm:Identity:RequireVerifiedEmail"] = "true" });
        var refused = await strict.CreateClient().PostAsync("/connect/token", PasswordGrant(email, Password));
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("Verify your email");

        var mail = await platform.Mail.WaitForAsync(email, m => m.Subject!.Contains("Verify", StringComparison.Ordinal));
        var link = LinkOf(mail, "verify-email");
        var browser = new AccountPagesClient(_api);
        var page = await browser.GetAsync(link.PathAndQuery);
        page.Status.ShouldBe(HttpStatusCode.OK);
        (await CatalogScalarAsync<long>(
                "SELECT count(*) FROM users WHERE normalized_email = upper($1) AND email_verified_at IS NULL", email))
            .ShouldBe(1, "opening the link (a mail scanner) verifies nothing; the button does");
        var verified = await browser.PostAsync("/account/verify-email", new() { ["token"] = TokenOf(link) });
        verified.Status.ShouldBe(HttpStatusCode.OK, verified.Html);
        verified.Html.ShouldContain("is verified");
        (await strict.CreateClient().PostAsync("/connect/token", PasswordGrant(email, Password))).StatusCode.ShouldBe(HttpStatusCode.OK);

        await browser.GetAsync(link.PathAndQuery);
        var reused = await browser.PostAsync("/account/verify-email", new() { ["token"] = TokenOf(link) });
        reused.Status.ShouldBe(HttpStatusCode.BadRequest);
        var bogus = await browser.PostAsync("/account/verify-email", new() { ["token"] = "nonsense" });
        bogus.Status.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Changing_the_password_needs_the_current_one_and_ends_the_sessions()
    {
        var user = await UserWithPasswordAsync();
        var refresh = (await PasswordGrantAsync(user.Email, Password)).GetProperty("refresh_token").GetString()!;
        var client = _api.ClientFor(user.Id);

        (await _api.CreateClient().PostAsJsonAsync("/api/v1/me/password", new { currentPassword = Password, newPassword = "x" }))
            .StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var empty = await client.PostAsJsonAsync("/api/v1/me/password", new { });
        (await Problem.ReadAsync(empty, HttpStatusCode.BadRequest)).Errors!.Keys
            .ShouldBe(["currentPassword", "newPassword"], ignoreOrder: true);
        var weak = await client.PostAsJsonAsync("/api/v1/me/password", new { currentPassword = Password, newPassword = "aaaaaaaaaaaaaa" });
        (await Problem.ReadAsync(weak, HttpStatusCode.BadRequest)).Errors!["newPassword"][0].ShouldContain("5 different");
        var wrong = await client.PostAsJsonAsync("/api/v1/me/password",
            new { currentPassword = "not my password at all", newPassword = "a brand new passphrase" });
        (await Problem.ReadAsync(wrong, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("currentPassword");
        (await RefreshStatusAsync(refresh)).ShouldBe(HttpStatusCode.OK, "refused changes end nothing");
        refresh = (await PasswordGrantAsync(user.Email, Password)).GetProperty("refresh_token").GetString()!;

        var changed = await client.PostAsJsonAsync("/api/v1/me/password",
            new { currentPassword = Password, newPassword = "a brand new passphrase" });
        changed.StatusCode.ShouldBe(HttpStatusCode.NoContent, await changed.Content.ReadAsStringAsync());
        (await RefreshStatusAsync(refresh)).ShouldBe(HttpStatusCode.BadRequest);
        (await PasswordGrantStatusAsync(user.Email, Password)).ShouldBe(HttpStatusCode.BadRequest);
        (await PasswordGrantStatusAsync(user.Email, "a brand new passphrase")).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Changing_the_email_mails_the_new_address_and_takes_effect_when_the_link_is_used()
    {
        var user = await UserWithPasswordAsync();
        var other = await platform.CreateUserAsync();
        var client = _api.ClientFor(user.Id);
        var newEmail = $"renamed-{Guid.NewGuid():N}@example.com";

        (await _api.CreateClient().PostAsJsonAsync("/api/v1/me/email", new { newEmail, currentPassword = Password }))
            .StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var bad = await client.PostAsJsonAsync("/api/v1/me/email", new { newEmail = "nope", currentPassword = Password });
        (await Problem.ReadAsync(bad, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("newEmail");
        var wrong = await client.PostAsJsonAsync("/api/v1/me/email", new { newEmail, currentPassword = "not my password at all" });
        (await Problem.ReadAsync(wrong, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("currentPassword");
        var taken = await client.PostAsJsonAsync("/api/v1/me/email", new { newEmail = other.Email, currentPassword = Password });
        (await Problem.ReadAsync(taken, HttpStatusCode.Conflict)).Type.ShouldEndWith("/email_taken");
        platform.Mail.CountTo(newEmail).ShouldBe(0);

        var accepted = await client.PostAsJsonAsync("/api/v1/me/email", new { newEmail, currentPassword = Password });
        accepted.StatusCode.ShouldBe(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("pendingEmail").GetString().ShouldBe(newEmail);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/me")).GetProperty("email").GetString().ShouldBe(user.Email,
            "the old address stays until the new one is verified");

        var link = LinkOf(await platform.Mail.WaitForAsync(newEmail), "verify-email");
        var browser = new AccountPagesClient(_api);
        await browser.GetAsync(link.PathAndQuery);
        var verified = await browser.PostAsync("/account/verify-email", new() { ["token"] = TokenOf(link) });
        verified.Status.ShouldBe(HttpStatusCode.OK, verified.Html);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/me")).GetProperty("email").GetString().ShouldBe(newEmail);
        (await PasswordGrantStatusAsync(newEmail, Password)).ShouldBe(HttpStatusCode.OK);
        (await PasswordGrantStatusAsync(user.Email, Password)).ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Two_factor_enrols_with_a_confirming_code_and_then_the_sign_in_asks_for_it()
    {
        var user = await UserWithPasswordAsync();
        var client = _api.ClientFor(user.Id);
        (await _api.CreateClient().PostAsync("/api/v1/me/two-factor/enrol", null)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/me/two-factor")).GetProperty("enabled").GetBoolean().ShouldBeFalse();
        var noEnrolment = await client.PostAsJsonAsync("/api/v1/me/two-factor/confirm", new { code = "123456" });
        (await Problem.ReadAsync(noEnrolment, HttpStatusCode.Conflict)).Type.ShouldEndWith("/two_factor_not_enrolled");

        var enrolment = await (await client.PostAsync("/api/v1/me/two-factor/enrol", null)).Content.ReadFromJsonAsync<JsonElement>();
        var key = enrolment.GetProperty("sharedKey").GetString()!;
        enrolment.GetProperty("otpauthUri").GetString()!
            .ShouldStartWith($"otpauth://totp/CleanCrm:{Uri.EscapeDataString(user.Email)}?secret={key}");
        (await CatalogScalarAsync<long>("SELECT count(*) FROM users WHERE id = $1 AND two_factor_key LIKE $2", user.Id, $"%{key}%"))
            .ShouldBe(0, "the key is stored encrypted");
        var empty = await client.PostAsJsonAsync("/api/v1/me/two-factor/confirm", new { });
        (await Problem.ReadAsync(empty, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("code");
        var wrong = await client.PostAsJsonAsync("/api/v1/me/two-factor/confirm", new { code = WrongCode(key) });
        (await Problem.ReadAsync(wrong, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("code");
        (await PasswordGrantStatusAsync(user.Email, Password)).ShouldBe(HttpStatusCode.OK, "not on until confirmed");

        await StartOfTotpStepAsync();
        var confirmed = await client.PostAsJsonAsync("/api/v1/me/two-factor/confirm", new { code = CodeAt(key, -1) });
        confirmed.StatusCode.ShouldBe(HttpStatusCode.OK, await confirmed.Content.ReadAsStringAsync());
        var codes = (await confirmed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("recoveryCodes").EnumerateArray()
            .Select(c => c.GetString()!).ToList();
        codes.Count.ShouldBe(10);
        codes.Distinct().Count().ShouldBe(10);
        (await CatalogScalarAsync<long>("SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND code_hash = $2", user.Id,
            AccountSecurity.HashToken(codes[0].Replace("-", string.Empty, StringComparison.Ordinal)))).ShouldBe(1, "stored hashed");
        var state = await client.GetFromJsonAsync<JsonElement>("/api/v1/me/two-factor");
        state.GetProperty("enabled").GetBoolean().ShouldBeTrue();
        state.GetProperty("recoveryCodesLeft").GetInt32().ShouldBe(10);
        (await Problem.ReadAsync(await client.PostAsync("/api/v1/me/two-factor/enrol", null), HttpStatusCode.Conflict))
            .Type.ShouldEndWith("/two_factor_enabled");

        // The password grant cannot ask for the code: refused with a pointer to the browser flow.
        var grant = await _api.CreateClient().PostAsync("/connect/token", PasswordGrant(user.Email, Password));
        grant.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await grant.Content.ReadAsStringAsync()).ShouldContain("two-factor");

        // The browser flow: password, then a code (the same code twice is refused), amr says so.
        var browser = new AccountPagesClient(_api);
        var (authorize, verifier) = AccountPagesClient.AuthorizeRequest();
        await browser.GetAsync("/account/login?returnUrl=" + Uri.EscapeDataString(authorize));
        var password = await browser.PostAsync("/account/login",
            new() { ["email"] = user.Email, ["password"] = Password, ["returnUrl"] = authorize });
        password.Status.ShouldBe(HttpStatusCode.Redirect, password.Html);
        password.Location!.ShouldStartWith("/account/two-factor?returnUrl=");
        (await browser.Http.GetAsync(authorize)).Headers.Location!.ToString().ShouldStartWith("/account/login",
            customMessage: "no session before the second factor");
        await browser.GetAsync(password.Location);
        var replay = await browser.PostAsync("/account/two-factor", new() { ["code"] = CodeAt(key, -1), ["returnUrl"] = authorize });
        replay.Status.ShouldBe(HttpStatusCode.BadRequest, "a code is accepted once");
        AccountPagesClient.TextOf(replay.Html, "code-error").ShouldContain("not valid");
        var second = await browser.PostAsync("/account/two-factor", new() { ["code"] = CodeAt(key, 0), ["returnUrl"] = authorize });
        second.Status.ShouldBe(HttpStatusCode.Redirect, second.Html);
        second.Location.ShouldBe(authorize);
        var tokens = await browser.RedeemAsync(second.Location!, verifier);
        AccountPagesClient.Amr(AccountPagesClient.JwtPayload(tokens.GetProperty("access_token").GetString()!))
            .ShouldBe(["pwd", "otp", "mfa"], ignoreOrder: true);

        // Recovery codes: replaced with a fresh code; disabling needs a fresh code too.
        var regenerated = await client.PostAsJsonAsync("/api/v1/me/two-factor/recovery-codes", new { code = WrongCode(key) });
        (await Problem.ReadAsync(regenerated, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("code");
        var disableWrong = await client.PostAsJsonAsync("/api/v1/me/two-factor/disable", new { code = WrongCode(key) });
        (await Problem.ReadAsync(disableWrong, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("code");
        (await client.PostAsJsonAsync("/api/v1/me/two-factor/disable", new { code = CodeAt(key, 0) })).StatusCode
            .ShouldBe(HttpStatusCode.BadRequest, "the code already used to sign in is refused");
        var disabled = await client.PostAsJsonAsync("/api/v1/me/two-factor/disable", new { code = CodeAt(key, 1) });
        disabled.StatusCode.ShouldBe(HttpStatusCode.NoContent, await disabled.Content.ReadAsStringAsync());
        (await CatalogScalarAsync<long>("SELECT count(*) FROM recovery_codes WHERE user_id = $1", user.Id)).ShouldBe(0);
        (await PasswordGrantStatusAsync(user.Email, Password)).ShouldBe(HttpStatusCode.OK);
        (await Problem.ReadAsync(await client.PostAsJsonAsync("/api/v1/me/two-factor/disable", new { code = CodeAt(key, 1) }),
            HttpStatusCode.Conflict)).Type.ShouldEndWith("/two_factor_not_enabled");
    }

    [Fact]
    public async Task A_recovery_code_signs_in_once_and_replacing_the_codes_voids_the_old_ones()
    {
        var user = await UserWithPasswordAsync();
        var client = _api.ClientFor(user.Id);
        var key = (await (await client.PostAsync("/api/v1/me/two-factor/enrol", null)).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("sharedKey").GetString()!;
        await StartOfTotpStepAsync();
        var codes = (await (await client.PostAsJsonAsync("/api/v1/me/two-factor/confirm", new { code = CodeAt(key, -1) })).Content
            .ReadFromJsonAsync<JsonElement>()).GetProperty("recoveryCodes").EnumerateArray().Select(c => c.GetString()!).ToList();

        var (authorize, verifier) = AccountPagesClient.AuthorizeRequest();
        var browser = new AccountPagesClient(_api);
        await SignInWithRecoveryCodeAsync(browser, user, authorize, codes[0].ToUpperInvariant(), HttpStatusCode.Redirect);
        var tokens = await browser.RedeemAsync(authorize, verifier);
        AccountPagesClient.Amr(AccountPagesClient.JwtPayload(tokens.GetProperty("access_token").GetString()!))
            .ShouldBe(["pwd", "mfa"], ignoreOrder: true);

        var again = new AccountPagesClient(_api);
        var refused = await SignInWithRecoveryCodeAsync(again, user, authorize, codes[0], HttpStatusCode.BadRequest);
        AccountPagesClient.TextOf(refused, "recoveryCode-error").ShouldContain("already used");
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/me/two-factor")).GetProperty("recoveryCodesLeft").GetInt32().ShouldBe(9);

        var replaced = await client.PostAsJsonAsync("/api/v1/me/two-factor/recovery-codes", new { code = CodeAt(key, 0) });
        replaced.StatusCode.ShouldBe(HttpStatusCode.OK, await replaced.Content.ReadAsStringAsync());
        var newCodes = (await replaced.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("recoveryCodes").GetArrayLength();
        newCodes.ShouldBe(10);
        await SignInWithRecoveryCodeAsync(new AccountPagesClient(_api), user, authorize, codes[1], HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task An_org_that_requires_two_factor_makes_its_members_enrol_at_the_next_sign_in()
    {
        var owner = await platform.CreateUserAsync();
        var admin = await platform.CreateUserAsync();
        var member = await UserWithPasswordAsync();
        var organization = await platform.CreateOrganizationAsync(
            members: [(owner, OrgRole.Owner), (admin, OrgRole.Admin), (member, OrgRole.Member)], provision: false);
        var elsewhere = await platform.CreateOrganizationAsync(members: [(member, OrgRole.Owner)], provision: false);
        var path = $"/api/v1/orgs/{organization.Slug}/security";

        (await _api.CreateClient().PutAsJsonAsync(path, new { requireTwoFactor = true })).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await Problem.ReadAsync(await _api.ClientFor(member.Id).PutAsJsonAsync(path, new { requireTwoFactor = true }),
            HttpStatusCode.Forbidden)).Type.ShouldEndWith("/forbidden");
        (await Problem.ReadAsync(await _api.ClientFor(member.Id).GetAsync(path), HttpStatusCode.Forbidden))
            .Type.ShouldEndWith("/forbidden");
        // The owner of another organization cannot reach this one by naming its slug.
        (await Problem.ReadAsync(await _api.ClientFor(owner.Id).PutAsJsonAsync($"/api/v1/orgs/{elsewhere.Slug}/security",
            new { requireTwoFactor = true }), HttpStatusCode.NotFound)).Type.ShouldEndWith("/not_found");
        (await Problem.ReadAsync(await _api.ClientFor(owner.Id).PutAsJsonAsync(path, new { }), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("requireTwoFactor");
        (await CatalogScalarAsync<long>("SELECT count(*) FROM organizations WHERE require_two_factor AND id = $1", organization.Id))
            .ShouldBe(0, "refused requests changed nothing");

        var set = await _api.ClientFor(admin.Id).PutAsJsonAsync(path, new { requireTwoFactor = true });
        set.StatusCode.ShouldBe(HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
        (await _api.ClientFor(owner.Id).GetFromJsonAsync<JsonElement>(path)).GetProperty("requireTwoFactor").GetBoolean().ShouldBeTrue();
        (await _api.ClientFor(member.Id).GetFromJsonAsync<JsonElement>("/api/v1/me/two-factor")).GetProperty("required").GetBoolean()
            .ShouldBeTrue();
        (await PasswordGrantStatusAsync(member.Email, Password)).ShouldBe(HttpStatusCode.BadRequest);

        var browser = new AccountPagesClient(_api);
        var (authorize, verifier) = AccountPagesClient.AuthorizeRequest();
        await browser.GetAsync("/account/login");
        var signedIn = await browser.PostAsync("/account/login",
            new() { ["email"] = member.Email, ["password"] = Password, ["returnUrl"] = authorize });
        signedIn.Location!.ShouldStartWith("/account/two-factor/setup?returnUrl=");
        var setup = await browser.GetAsync(signedIn.Location);
        setup.Html.ShouldContain("<svg");
        var key = Regex.Match(setup.Html, "data-testid=\"totp-key\">([A-Z2-7]+)<").Groups[1].Value;
        key.ShouldNotBeEmpty();
        (await browser.GetAsync(signedIn.Location)).Html.ShouldContain(key, customMessage: "reloading keeps the key");
        var done = await browser.PostAsync("/account/two-factor/setup", new() { ["code"] = CodeAt(key, 0), ["returnUrl"] = authorize });
        done.Status.ShouldBe(HttpStatusCode.OK, done.Html);
        Regex.Matches(done.Html, "<li>[a-z0-9]{5}-[a-z0-9]{5}</li>").Count.ShouldBe(10);
        var tokens = await browser.RedeemAsync(authorize, verifier);
        AccountPagesClient.Amr(AccountPagesClient.JwtPayload(tokens.GetProperty("access_token").GetString()!))
            .ShouldBe(["pwd", "otp", "mfa"], ignoreOrder: true);

        (await _api.ClientFor(owner.Id).PutAsJsonAsync(path, new { requireTwoFactor = false })).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_sign_in_page_only_returns_to_a_registered_redirect_uri_and_says_when_a_locked_account_may_retry()
    {
        var user = await UserWithPasswordAsync();
        foreach (var returnUrl in new[]
                 {
                     "https://evil.example/",
                     "//evil.example/connect/authorize?x",
                     AccountPagesClient.AuthorizeRequest("https://evil.example/callback").Url,
                     AccountPagesClient.AuthorizeRequest().Url.Replace("cleancrm-spa", "no-such-client", StringComparison.Ordinal),
                 })
        {
            var browser = new AccountPagesClient(_api);
            var page = await browser.GetAsync("/account/login?returnUrl=" + Uri.EscapeDataString(returnUrl));
            page.Html.ShouldNotContain("evil.example");
            var posted = await browser.PostAsync("/account/login",
                new() { ["email"] = user.Email, ["password"] = Password, ["returnUrl"] = returnUrl });
            posted.Status.ShouldBe(HttpStatusCode.Redirect, posted.Html);
            posted.Location.ShouldBe("/account/signed-in", returnUrl);
        }

        var guesser = new AccountPagesClient(_api);
        await guesser.GetAsync("/account/login");
        var (status, html, _) = await guesser.PostAsync("/account/login", new() { ["email"] = user.Email, ["password"] = "" });
        status.ShouldBe(HttpStatusCode.BadRequest);
        AccountPagesClient.TextOf(html, "password-error").ShouldBe("Enter your password.");
        for (var attempt = 0; attempt < 5; attempt++)
        {
            (status, html, _) = await guesser.PostAsync("/account/login",
                new() { ["email"] = user.Email, ["password"] = $"wrong guess {attempt}" });
            status.ShouldBe(HttpStatusCode.BadRequest);
        }

        (status, html, _) = await guesser.PostAsync("/account/login", new() { ["email"] = user.Email, ["password"] = Password });
        status.ShouldBe(HttpStatusCode.BadRequest);
        AccountPagesClient.TextOf(html, "form-message").ShouldMatch(@"locked\. Try again after \d\d:\d\d UTC \(in about 1[45] minutes\)");
        (await guesser.PostAsync("/account/login", new() { ["email"] = user.Email, ["password"] = Password }, withAntiforgery: false))
            .Status.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Owners_still_unverified_a_day_after_signup_are_reminded_once_by_the_job()
    {
        var unverified = await platform.CreateUserAsync();
        var verified = await platform.CreateUserAsync();
        var member = await platform.CreateUserAsync();
        var recent = await platform.CreateUserAsync();
        await platform.CreateOrganizationAsync(
            members: [(unverified, OrgRole.Owner), (verified, OrgRole.Owner), (member, OrgRole.Member), (recent, OrgRole.Owner)],
            provision: false);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE users SET created_at = now() - interval '2 days' WHERE id IN ('{unverified.Id}', '{verified.Id}', '{member.Id}');" +
            $"UPDATE users SET email_verified_at = now() WHERE id = '{verified.Id}'", platform.CatalogDatabase);
        var settings =
            new Dictionary<string, string?>(platform.Settings) { ["CleanCrm:Email:AccountBaseUrl"] = "https://id.cleancrm.test" };
        await using var services = PlatformEnvironment.BuildServices(settings);
        var emails = new object[] { new[] { unverified.Email, verified.Email, member.Email, recent.Email } };

        for (var run = 0; run < 2; run++)
        {
            await using var scope = services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<CleanCrm.Infrastructure.Identity.EmailVerificationReminderJob>()
                .RunAsync(CancellationToken.None);
            (await CatalogScalarAsync<string>(
                    "SELECT string_agg(to_address, ',') FROM outgoing_emails WHERE kind = 'verify_email_reminder' AND to_address = ANY($1)",
                    emails)).ShouldBe(unverified.Email, $"run {run + 1}: one reminder, to the unverified owner of a day ago");
        }

        (await CatalogScalarAsync<long>(
            "SELECT count(*) FROM account_tokens WHERE user_id = $1 AND purpose = 'verify_email' AND used_at IS NULL", unverified.Id))
            .ShouldBe(1, "the reminder carries a fresh link");
    }

    private async Task<string> SignInWithRecoveryCodeAsync(AccountPagesClient browser, UserAccount user, string authorize, string code,
        HttpStatusCode expected)
    {
        await browser.GetAsync("/account/login");
        var password = await browser.PostAsync("/account/login",
            new() { ["email"] = user.Email, ["password"] = Password, ["returnUrl"] = authorize });
        password.Location!.ShouldStartWith("/account/two-factor");
        await browser.GetAsync("/account/recovery-code?returnUrl=" + Uri.EscapeDataString(authorize));
        var posted = await browser.PostAsync("/account/recovery-code", new() { ["recoveryCode"] = code, ["returnUrl"] = authorize });
        posted.Status.ShouldBe(expected, posted.Html);
        return posted.Html;
    }

    private static async Task<(HttpStatusCode Status, string Html, string? Location)> ResetAsync(AccountPagesClient browser, Uri link) =>
        await browser.PostAsync("/account/reset-password", new()
        {
            ["token"] = System.Web.HttpUtility.ParseQueryString(link.Query)["token"]!,
            ["newPassword"] = "a brand new passphrase",
            ["confirmPassword"] = "a brand new passphrase",
        });

    /// <summary>
    /// Codes are accepted one step early or late and each step once, so a test uses steps -1, 0 and +1 of one moment;
    /// near the end of a 30 s step it first waits for the next one, so "now" cannot move by a step in the middle.
    /// </summary>
    private static async Task StartOfTotpStepAsync()
    {
        var into = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() % 30_000;
        if (into > 20_000)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(30_000 - into + 200));
        }
    }

    private static string CodeAt(string key, int stepsFromNow) => Totp.Code(key, Totp.StepAt(DateTimeOffset.UtcNow) + stepsFromNow);

    private static string WrongCode(string key)
    {
        var valid = Enumerable.Range(-1, 3).Select(step => CodeAt(key, step)).ToHashSet();
        return Enumerable.Range(0, 10).Select(d => new string((char)('0' + d), 6)).First(c => !valid.Contains(c));
    }

    private async Task<UserAccount> UserWithPasswordAsync()
    {
        var user = await platform.CreateUserAsync();
        var hash = new CleanCrm.Infrastructure.Provisioning.PasswordHashing().Hash(Password);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE users SET password_hash = '{hash}' WHERE id = '{user.Id}'", platform.CatalogDatabase);
        return user;
    }

    private static FormUrlEncodedContent PasswordGrant(string email, string password) => new(new Dictionary<string, string>
    {
        ["grant_type"] = "password",
        ["client_id"] = "cleancrm-cli",
        ["username"] = email,
        ["password"] = password,
        ["scope"] = "openid offline_access api",
    });

    private async Task<JsonElement> PasswordGrantAsync(string email, string password)
    {
        using var response = await _api.CreateClient().PostAsync("/connect/token", PasswordGrant(email, password));
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<HttpStatusCode> PasswordGrantStatusAsync(string email, string password)
    {
        using var response = await _api.CreateClient().PostAsync("/connect/token", PasswordGrant(email, password));
        return response.StatusCode;
    }

    private async Task<HttpStatusCode> RefreshStatusAsync(string refreshToken)
    {
        using var response = await _api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["client_id"] = "cleancrm-cli",
            ["refresh_token"] = refreshToken,
        }));
        return response.StatusCode;
    }

    private static string TokenOf(Uri link) => System.Web.HttpUtility.ParseQueryString(link.Query)["token"]!;

    private static Uri LinkOf(MimeMessage mail, string page)
    {
        var match = Regex.Match(mail.TextBody ?? string.Empty, $@"(https?://\S+/account/{page}\?token=[A-Za-z0-9_%-]+)");
        match.Success.ShouldBeTrue(mail.TextBody);
        return new Uri(match.Groups[1].Value);
    }

    private async Task<T?> CatalogScalarAsync<T>(string sql, params object[] args) =>
        await TestDatabaseServers.ScalarAsync<T>(TestDatabaseServers.Primary, platform.CatalogDatabase, sql, args);

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "condition not met in time");
            await Task.Delay(100);
        }
    }
}
