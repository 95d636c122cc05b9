using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using MimeKit;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>
/// Invitations end to end: the API writes the invitation and its mail in one transaction, the real worker sends it over
/// SMTP to an in-process server, and the token read from that mail is what the invitee accepts with.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed partial class InvitationsTests(SharedPlatform platform) : IAsyncLifetime
{
    private ApiFactory _api = null!;
    private WorkerHostRunner _worker = null!;

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        _worker = await WorkerHostRunner.StartAsync(platform);
    }

    public async Task DisposeAsync() => await _worker.DisposeAsync();

    [Fact]
    public async Task An_invitee_without_an_account_accepts_with_the_token_from_the_mail_once()
    {
        var owner = await platform.CreateUserAsync(name: "Olivia Owner");
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var asOwner = _api.ClientFor(owner.Id, organization.Slug);
        var email = $"Invitee-{Guid.NewGuid():N}@Example.com";

        var created = await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email, role = "member" });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var invitation = await created.Content.ReadFromJsonAsync<JsonElement>();
        var raw = await created.Content.ReadAsStringAsync();
        invitation.GetProperty("status").GetString().ShouldBe("pending");
        invitation.GetProperty("role").GetString().ShouldBe("member");
        created.Headers.Location!.ToString().ShouldBe($"/api/v1/invitations/{invitation.GetProperty("id").GetGuid()}");
        raw.ShouldNotContain("token", Case.Insensitive);

        var mail = await platform.Mail.WaitForAsync(email);
        mail.Subject!.ShouldContain(organization.Name);
        mail.Subject!.ShouldContain("Olivia Owner");
        mail.TextBody!.ShouldContain("as member");
        mail.HtmlBody!.ShouldContain("<a href=\"https://app.cleancrm.test/accept-invitation#token=");
        var token = TokenOf(mail);

        // Only a hash is stored, and the sent mail's body is erased from the outbox.
        (await CatalogScalarAsync<long>("SELECT count(*) FROM invitations WHERE token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')",
            token)).ShouldBe(1);
        (await CatalogScalarAsync<long>("SELECT count(*) FROM invitations WHERE token_hash = $1", token)).ShouldBe(0);
        await Eventually(async () => await CatalogScalarAsync<long>(
            "SELECT count(*) FROM outgoing_emails WHERE to_address = $1 AND status = 'sent' AND protected_body IS NULL AND sent_at IS " +
                "NOT NULL", email) == 1);

        var anonymous = _api.CreateClient();
        var weak = await anonymous.PostAsJsonAsync($"/api/v1/invitations/{token}/accept", new { name = "Ivy", password = "short" });
        (await Problem.ReadAsync(weak, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("password");
        var nameless =
            await anonymous.PostAsJsonAsync($"/api/v1/invitations/{token}/accept", new { password = "a long enough passphrase" });
        (await Problem.ReadAsync(nameless, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("name");

        var accepted = await anonymous.PostAsJsonAsync($"/api/v1/invitations/{token}/accept",
            new { name = "Ivy Invitee", password = "a long enough passphrase" });
        accepted.StatusCode.ShouldBe(HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync());
        var result = await accepted.Content.ReadFromJsonAsync<JsonElement>();
        result.GetProperty("slug").GetString().ShouldBe(organization.Slug);
        result.GetProperty("role").GetString().ShouldBe("member");
        var userId = result.GetProperty("userId").GetGuid();

        // The new account signs in with the password it chose (real token endpoint) and sees the org's data.
        var tokens = await _api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["client_id"] = "cleancrm-cli",
            ["username"] = email.ToLowerInvariant(),
            ["password"] = "a long enough passphrase",
            ["scope"] = "openid api",
        }));
        tokens.StatusCode.ShouldBe(HttpStatusCode.OK, await tokens.Content.ReadAsStringAsync());
        var bearer = _api.CreateClient();
        bearer.DefaultRequestHeaders.Authorization =
            new("Bearer", (await tokens.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString());
        bearer.DefaultRequestHeaders.Add("X-Org", organization.Slug);
        (await bearer.GetAsync("/api/v1/companies")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await PlatformEnvironment.CountRowsAsync(
            organization, $"SELECT count(*) FROM members WHERE id = '{userId}' AND role = 'member' AND is_active")).ShouldBe(1);

        var again = await anonymous.PostAsJsonAsync($"/api/v1/invitations/{token}/accept",
            new { name = "Mallory", password = "another long passphrase" });
        (await Problem.ReadAsync(again, HttpStatusCode.Conflict)).Type.ShouldEndWith("/invitation_used");
        (await CatalogScalarAsync<long>("SELECT count(*) FROM memberships WHERE organization_id = $1", organization.Id)).ShouldBe(2);
        (await asOwner.GetFromJsonAsync<JsonElement>("/api/v1/invitations")).GetProperty("items").GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task Reinviting_replaces_the_token_and_a_signed_in_invitee_must_own_the_address()
    {
        var owner = await platform.CreateUserAsync();
        var invitee = await platform.CreateUserAsync();
        var stranger = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var asOwner = _api.ClientFor(owner.Id, organization.Slug);

        (await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email = invitee.Email, role = "readonly" }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        var first =
            TokenOf(await platform.Mail.WaitForAsync(invitee.Email, m => m.TextBody!.Contains("as readonly", StringComparison.Ordinal)));
        (await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email = invitee.Email.ToUpperInvariant(), role = "admin" }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        var second =
            TokenOf(await platform.Mail.WaitForAsync(invitee.Email, m => m.TextBody!.Contains("as admin", StringComparison.Ordinal)));
        second.ShouldNotBe(first);
        (await asOwner.GetFromJsonAsync<JsonElement>("/api/v1/invitations")).GetProperty("items").GetArrayLength().ShouldBe(1);

        await Problem.ReadAsync(await _api.ClientFor(invitee.Id).PostAsync($"/api/v1/invitations/{first}/accept", null),
            HttpStatusCode.NotFound);
        var mismatch = await Problem.ReadAsync(await _api.ClientFor(stranger.Id).PostAsync($"/api/v1/invitations/{second}/accept", null),
            HttpStatusCode.Forbidden);
        mismatch.Type.ShouldEndWith("/invitation_email_mismatch");
        var taken = await Problem.ReadAsync(
            await _api.CreateClient().PostAsJsonAsync($"/api/v1/invitations/{second}/accept",
                new { name = "Someone", password = "a long enough passphrase" }), HttpStatusCode.Conflict);
        taken.Type.ShouldEndWith("/email_taken");

        var accepted = await _api.ClientFor(invitee.Id).PostAsync($"/api/v1/invitations/{second}/accept", null);
        accepted.StatusCode.ShouldBe(HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync());
        (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("role").GetString().ShouldBe("admin");
        (await _api.ClientFor(invitee.Id, organization.Slug).GetAsync("/api/v1/invitations")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var duplicate = await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email = invitee.Email, role = "member" });
        (await Problem.ReadAsync(duplicate, HttpStatusCode.Conflict)).Type.ShouldEndWith("/already_member");
    }

    [Fact]
    public async Task Expired_and_revoked_invitations_cannot_be_used_and_unknown_tokens_are_not_found()
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var asOwner = _api.ClientFor(owner.Id, organization.Slug);
        var late = $"late-{Guid.NewGuid():N}@example.com";
        var revoked = $"revoked-{Guid.NewGuid():N}@example.com";

        (await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email = late, role = "member" }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        var lateToken = TokenOf(await platform.Mail.WaitForAsync(late));
        await CatalogScalarAsync<long>("WITH u AS (UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE email = $1 " +
            "RETURNING 1) SELECT count(*) FROM u", late);
        var expired = await _api.CreateClient()
            .PostAsJsonAsync($"/api/v1/invitations/{lateToken}/accept", new { name = "Late", password = "a long enough passphrase" });
        (await Problem.ReadAsync(expired, HttpStatusCode.Conflict)).Type.ShouldEndWith("/invitation_expired");
        (await CatalogScalarAsync<long>("SELECT count(*) FROM users WHERE normalized_email = upper($1)", late)).ShouldBe(0);

        var created = await (await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email = revoked, role = "member" }))
            .Content.ReadFromJsonAsync<JsonElement>();
        var revokedToken = TokenOf(await platform.Mail.WaitForAsync(revoked));
        (await asOwner.DeleteAsync($"/api/v1/invitations/{created.GetProperty("id").GetGuid()}"))
            .StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await Problem.ReadAsync(await asOwner.DeleteAsync($"/api/v1/invitations/{created.GetProperty("id").GetGuid()}"),
            HttpStatusCode.NotFound);
        var used = await _api.CreateClient()
            .PostAsJsonAsync($"/api/v1/invitations/{revokedToken}/accept", new { name = "Rev", password = "a long enough passphrase" });
        (await Problem.ReadAsync(used, HttpStatusCode.Conflict)).Type.ShouldEndWith("/invitation_used");

        await Problem.ReadAsync(await _api.CreateClient().PostAsync($"/api/v1/invitations/{new string('a', 43)}/accept", null),
            HttpStatusCode.NotFound);
        (await Problem.ReadAsync(await _api.CreateClient().PostAsync("/api/v1/invitations/not%20a%20token/accept", null),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("token");
    }

    [Fact]
    public async Task Seats_count_members_and_pending_invitations_against_the_plan()
    {
        var freeOwner = await platform.CreateUserAsync();
        var free = await platform.CreateOrganizationAsync(members: [(freeOwner, OrgRole.Owner)], plan: Plan.Free);
        var full = await Problem.ReadAsync(
            await _api.ClientFor(freeOwner.Id, free.Slug)
                .PostAsJsonAsync("/api/v1/invitations", new { email = $"x-{Guid.NewGuid():N}@example.com", role = "member" }),
            HttpStatusCode.PaymentRequired);
        full.Type.ShouldBe("https://cleancrm.dev/problems/plan_limit_reached");
        full.Detail.ShouldContain("1 seat");
        full.Detail.ShouldContain("upgrade");

        // Pro: 5 seats = the owner + 4 pending invitations; the fifth invitation is refused until one is revoked.
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var asOwner = _api.ClientFor(owner.Id, organization.Slug);
        var ids = new List<Guid>();
        var emails = Enumerable.Range(0, 5).Select(i => $"seat{i}-{Guid.NewGuid():N}@example.com").ToList();
        foreach (var email in emails.Take(4))
        {
            var created = await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email, role = "member" });
            created.StatusCode.ShouldBe(HttpStatusCode.Created);
            ids.Add((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
        }

        await Problem.ReadAsync(await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email = emails[4], role = "member" }),
            HttpStatusCode.PaymentRequired);
        // Re-inviting a pending address does not take another seat.
        (await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email = emails[0], role = "member" }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        (await asOwner.DeleteAsync($"/api/v1/invitations/{ids[3]}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email = emails[4], role = "member" }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);

        // A downgrade after inviting: acceptance checks the seats again.
        var token = TokenOf(await platform.Mail.WaitForAsync(emails[1]));
        await CatalogScalarAsync<long>(
            "WITH u AS (UPDATE organizations SET plan_key = 'free' WHERE id = $1 RETURNING 1) SELECT count(*) FROM u", organization.Id);
        var refused = await _api.CreateClient()
            .PostAsJsonAsync($"/api/v1/invitations/{token}/accept", new { name = "Seatless", password = "a long enough passphrase" });
        (await Problem.ReadAsync(refused, HttpStatusCode.PaymentRequired)).Type.ShouldEndWith("/plan_limit_reached");
        (await CatalogScalarAsync<long>("SELECT count(*) FROM memberships WHERE organization_id = $1", organization.Id)).ShouldBe(1);
        (await CatalogScalarAsync<long>("SELECT count(*) FROM users WHERE normalized_email = upper($1)", emails[1])).ShouldBe(0);
    }

    [Fact]
    public async Task Bad_input_roles_and_other_orgs_are_refused()
    {
        var owner = await platform.CreateUserAsync();
        var admin = await platform.CreateUserAsync();
        var member = await platform.CreateUserAsync();
        var outsider = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(
            members: [(owner, OrgRole.Owner), (admin, OrgRole.Admin), (member, OrgRole.Member)], plan: Plan.Enterprise);
        var other = await platform.CreateOrganizationAsync(members: [(outsider, OrgRole.Owner)], plan: Plan.Enterprise);
        var asOwner = _api.ClientFor(owner.Id, organization.Slug);
        var asAdmin = _api.ClientFor(admin.Id, organization.Slug);

        (await Problem.ReadAsync(await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email = "not-an-email", role = "member" }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("email");
        (await Problem.ReadAsync(await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email = "a@example.com", role = "Member" }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("role");
        (await Problem.ReadAsync(await asOwner.PostAsJsonAsync("/api/v1/invitations", new
        {
            email = new string('a', 250) + "@example.com",
            role = "member"
        }), HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("email");
        await Problem.ReadAsync(await asOwner.PostAsJsonAsync("/api/v1/invitations",
            new { email = "a@example.com", role = "member", token = "mine" }), HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await asOwner.PostAsync("/api/v1/invitations", JsonContent.Create(new[] { 1, 2 })),
            HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await asOwner.PostAsJsonAsync("/api/v1/invitations", new { email = owner.Email, role = "member" }),
            HttpStatusCode.Conflict);

        await Problem.ReadAsync(await asAdmin.PostAsJsonAsync("/api/v1/invitations",
            new { email = $"o-{Guid.NewGuid():N}@example.com", role = "owner" }), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await _api.ClientFor(member.Id, organization.Slug)
            .PostAsJsonAsync("/api/v1/invitations", new { email = "m@example.com", role = "member" }), HttpStatusCode.Forbidden);
        var created =
            await asAdmin.PostAsJsonAsync("/api/v1/invitations", new { email = $"a-{Guid.NewGuid():N}@example.com", role = "admin" });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // Another org's owner, with its own header, cannot see or revoke it; with our header it is not a member.
        var asOutsider = _api.ClientFor(outsider.Id, other.Slug);
        await Problem.ReadAsync(await asOutsider.GetAsync($"/api/v1/invitations/{id}"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await asOutsider.DeleteAsync($"/api/v1/invitations/{id}"), HttpStatusCode.NotFound);
        (await asOutsider.GetFromJsonAsync<JsonElement>("/api/v1/invitations")).GetProperty("items").GetArrayLength().ShouldBe(0);
        await Problem.ReadAsync(await _api.ClientFor(outsider.Id, organization.Slug).GetAsync("/api/v1/invitations"),
            HttpStatusCode.NotFound);
        (await asOwner.GetFromJsonAsync<JsonElement>($"/api/v1/invitations/{id}")).GetProperty("status").GetString().ShouldBe("pending");
    }

    private static string TokenOf(MimeMessage mail)
    {
        var match = TokenPattern().Match(mail.TextBody ?? string.Empty);
        match.Success.ShouldBeTrue(mail.TextBody);
        mail.HtmlBody!.ShouldContain(match.Groups[1].Value);
        return match.Groups[1].Value;
    }

    private async Task<T?> CatalogScalarAsync<T>(string sql, params object[] args) =>
        await TestDatabaseServers.ScalarAsync<T>(TestDatabaseServers.Primary, platform.CatalogDatabase, sql, args);

    private static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "condition not met in time");
            await Task.Delay(100);
        }
    }

    [GeneratedRegex("accept-invitation#token=([A-Za-z0-9_-]{43})")]
    private static partial Regex TokenPattern();
}
