using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Integrations;
using CleanCrm.IntegrationTests.Support;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>The OAuth connection framework against stubs of the four providers (docs/INTEGRATIONS.md).</summary>
[Collection(PlatformCollection.Name)]
public sealed class IntegrationConnectionTests(SharedPlatform platform)
{
    private Task<IntegrationsHost> HostAsync() =>
        platform.SharedAsync("integrations-host", () => Task.FromResult(new IntegrationsHost(platform)));

    [Fact]
    public async Task Every_provider_is_listed_with_its_state_and_what_the_plan_offers()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync(Plan.Free);
        var list = await host.Api.ClientFor(owner.Id, organization.Slug).GetFromJsonAsync<JsonElement>("/api/v1/integrations");
        var items = list.GetProperty("items").EnumerateArray().ToDictionary(i => i.GetProperty("provider").GetString()!);
        items.Keys.ShouldBe(["google", "slack", "fathom", "savvycal"]);
        items.Values.ShouldAllBe(i => i.GetProperty("status").GetString() == "not_connected");
        items["fathom"].GetProperty("available").GetBoolean().ShouldBeTrue();
        items["google"].GetProperty("available").GetBoolean().ShouldBeFalse();
        items["slack"].GetProperty("available").GetBoolean().ShouldBeFalse();
        items["savvycal"].GetProperty("available").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task Premium_providers_are_refused_on_a_plan_without_their_feature_and_fathom_is_not()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync(Plan.Free);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        foreach (var (provider, feature) in new[] { ("google", "calendar_sync"), ("savvycal", "calendar_sync"),
            ("slack", "slack_integration") })
        {
            var problem = await Problem.ReadAsync(await client.PostAsync($"/api/v1/integrations/{provider}/connect", null),
                HttpStatusCode.Forbidden);
            problem.Code.ShouldBe("feature_disabled");
            problem.Detail.ShouldContain(feature);
        }

        (await host.ConnectAsync(client, "fathom")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        (await ConnectionAsync(organization.Id, "fathom"))!.Status.ShouldBe(IntegrationStatuses.Connected);
    }

    [Fact]
    public async Task Google_round_trip_uses_state_and_pkce_and_keeps_the_tokens_only_in_the_secret_store()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync(Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);

        var started = await client.PostAsync("/api/v1/integrations/google/connect", null);
        var url = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("authorizationUrl").GetString()!;
        url.ShouldStartWith($"{host.Providers.Url}/google/auth?");
        var query = QueryHelpers.ParseQuery(new Uri(url).Query);
        query["client_id"].ToString().ShouldBe("google-client");
        query["response_type"].ToString().ShouldBe("code");
        query["access_type"].ToString().ShouldBe("offline");
        query["code_challenge_method"].ToString().ShouldBe("S256");
        query["code_challenge"].ToString().Length.ShouldBe(43);
        query["redirect_uri"].ToString().ShouldEndWith("/oauth/google/callback");
        query["state"].ToString().Length.ShouldBeGreaterThanOrEqualTo(43);

        var (code, state, _) = host.Providers.Authorize("google", url);
        var callback = await host.Browser().GetAsync($"/oauth/google/callback?code={code}&state={state}");
        callback.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        callback.Headers.Location!.ToString().ShouldBe($"{IntegrationsHost.SpaRedirect}?provider=google&outcome=connected");

        // The exchange sent the verifier of the challenge (the stub refuses any other) and the client secret.
        var exchange = host.Providers.Calls.Last(c => c.Path == "/google/token");
        exchange.Form["grant_type"].ShouldBe("authorization_code");
        exchange.Form["code_verifier"].ShouldNotBeNullOrEmpty();

        var connection = (await ConnectionAsync(organization.Id, "google"))!;
        connection.Status.ShouldBe(IntegrationStatuses.Connected);
        connection.ConnectedBy.ShouldBe(owner.Id);
        connection.AccessTokenExpiresAt.ShouldNotBeNull();
        var stored = await host.Api.Services.GetRequiredService<IntegrationTokenStore>().GetAsync(connection.Id, CancellationToken.None);
        stored!.AccessToken.ShouldStartWith("ya29.google-");
        stored.RefreshToken.ShouldStartWith("1//");

        var listed = await client.GetStringAsync("/api/v1/integrations");
        var google = JsonDocument.Parse(listed).RootElement.GetProperty("items").EnumerateArray()
            .Single(i => i.GetProperty("provider").GetString() == "google");
        google.GetProperty("status").GetString().ShouldBe("connected");
        google.GetProperty("connectedBy").GetGuid().ShouldBe(owner.Id);
        google.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()).ShouldContain("email");
        listed.ShouldNotContain(stored.AccessToken);
        listed.ShouldNotContain(stored.RefreshToken!);
        await ShouldNotBeStoredInTheClearAsync(stored.AccessToken, stored.RefreshToken!);
    }

    [Fact]
    public async Task A_bad_expired_or_reused_state_gets_an_error_page_and_stores_nothing()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync(Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        var browser = host.Browser();

        async Task<(string Code, string State)> StartAsync()
        {
            var started = await client.PostAsync("/api/v1/integrations/savvycal/connect", null);
            var url = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("authorizationUrl").GetString()!;
            var (code, state, _) = host.Providers.Authorize("savvycal", url);
            return (code, state);
        }

        async Task ShouldBeRefusedAsync(string path)
        {
            var exchangesBefore = host.Providers.Calls.Count(c => c.Path == "/savvycal/oauth/token");
            var response = await browser.GetAsync(path);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, path);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
            (await response.Content.ReadAsStringAsync()).ShouldContain("invalid, expired or was already used");
            host.Providers.Calls.Count(c => c.Path == "/savvycal/oauth/token").ShouldBe(exchangesBefore, path);
            (await ConnectionAsync(organization.Id, "savvycal")).ShouldBeNull(path);
        }

        var (code, _) = await StartAsync();
        await ShouldBeRefusedAsync($"/oauth/savvycal/callback?code={code}&state=not-a-state-we-issued");
        await ShouldBeRefusedAsync($"/oauth/savvycal/callback?code={code}");

        // A state is bound to its provider.
        var (fathomCode, savvyState) = await StartAsync();
        await ShouldBeRefusedAsync($"/oauth/fathom/callback?code={fathomCode}&state={savvyState}");

        var (expiredCode, expiredState) = await StartAsync();
        await using (var db = await platform.CatalogAsync())
        {
            await db.IntegrationAuthorizations.Where(a => a.OrganizationId == organization.Id && a.ConsumedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.ExpiresAt, DateTimeOffset.UtcNow.AddSeconds(-1)));
        }

        await ShouldBeRefusedAsync($"/oauth/savvycal/callback?code={expiredCode}&state={expiredState}");

        var (goodCode, goodState) = await StartAsync();
        (await browser.GetAsync($"/oauth/savvycal/callback?code={goodCode}&state={goodState}"))
            .StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var connected = (await ConnectionAsync(organization.Id, "savvycal"))!;
        await client.DeleteAsync("/api/v1/integrations/savvycal");
        await ShouldBeRefusedAsync($"/oauth/savvycal/callback?code={goodCode}&state={goodState}");
        (await host.Api.Services.GetRequiredService<ISecretStore>().GetAsync(IntegrationTokenStore.SecretName(connected.Id))
            ).ShouldBeNull();

        await using var catalog = await platform.CatalogAsync();
        (await catalog.IntegrationAuthorizations.AnyAsync(a => a.StateHash == goodState || a.StateHash == expiredState)).ShouldBeFalse();
    }

    [Fact]
    public async Task A_declined_consent_or_a_failed_exchange_returns_to_the_spa_with_the_error_and_stores_nothing()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync(Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        var started = await client.PostAsync("/api/v1/integrations/google/connect", null);
        var url = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("authorizationUrl").GetString()!;
        var state = QueryHelpers.ParseQuery(new Uri(url).Query)["state"].ToString();
        var declined = await host.Browser().GetAsync($"/oauth/google/callback?error=access_denied&state={state}");
        declined.Headers.Location!.ToString().ShouldBe($"{IntegrationsHost.SpaRedirect}?provider=google&outcome=error&error=access_denied");

        started = await client.PostAsync("/api/v1/integrations/google/connect", null);
        url = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("authorizationUrl").GetString()!;
        state = QueryHelpers.ParseQuery(new Uri(url).Query)["state"].ToString();
        var forged = await host.Browser().GetAsync($"/oauth/google/callback?code=a-code-google-never-issued&state={state}");
        forged.Headers.Location!.ToString().ShouldBe($"{IntegrationsHost.SpaRedirect}?provider=google&outcome=error&error=exchange_failed");
        (await ConnectionAsync(organization.Id, "google")).ShouldBeNull();
    }

    [Fact]
    public async Task Refresh_renews_tokens_before_expiry_and_invalid_grant_marks_needs_reauth_and_mails_the_connecting_user()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync(Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        (await host.ConnectAsync(client, "google")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var connection = (await ConnectionAsync(organization.Id, "google"))!;
        var store = host.Api.Services.GetRequiredService<IntegrationTokenStore>();
        var before = (await store.GetAsync(connection.Id, CancellationToken.None))!;
        var job = host.Api.Services.GetRequiredService<TokenRefreshJob>();

        // Not due yet (expires in an hour): untouched.
        (await job.RefreshOneAsync(connection.Id, DateTimeOffset.UtcNow.AddMinutes(15), CancellationToken.None)).ShouldBeFalse();

        await ExpireSoonAsync(connection.Id);
        (await job.RefreshOneAsync(connection.Id, DateTimeOffset.UtcNow.AddMinutes(15), CancellationToken.None)).ShouldBeTrue();
        var after = (await store.GetAsync(connection.Id, CancellationToken.None))!;
        after.AccessToken.ShouldNotBe(before.AccessToken);
        after.RefreshToken.ShouldBe(before.RefreshToken, "Google does not rotate refresh tokens; the one we have is kept");
        ((await ConnectionAsync(organization.Id, "google"))!.AccessTokenExpiresAt > DateTimeOffset.UtcNow.AddMinutes(30)).ShouldBeTrue();

        host.Providers.RevokeAllRefreshTokens();
        await ExpireSoonAsync(connection.Id);
        await job.RunAsync(CancellationToken.None);
        var reauth = (await ConnectionAsync(organization.Id, "google"))!;
        reauth.Status.ShouldBe(IntegrationStatuses.NeedsReauth);
        reauth.LastError.ShouldStartWith("invalid_grant");
        await using var db = await platform.CatalogAsync();
        var mail = await db.OutgoingEmails.SingleAsync(e => e.OrganizationId == organization.Id && e.Kind == "integration_needs_reauth");
        mail.ToAddress.ShouldBe(owner.Email);
        var listed = await client.GetFromJsonAsync<JsonElement>("/api/v1/integrations");
        listed.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("provider").GetString() == "google")
            .GetProperty("status").GetString().ShouldBe("needs_reauth");

        // Connecting again restores it.
        (await host.ConnectAsync(client, "google")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        (await ConnectionAsync(organization.Id, "google"))!.Status.ShouldBe(IntegrationStatuses.Connected);
    }

    [Fact]
    public async Task Slack_keeps_the_team_and_channel_and_a_refused_rotation_marks_needs_reauth()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync(Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        var started = await client.PostAsync("/api/v1/integrations/slack/connect", null);
        var url = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("authorizationUrl").GetString()!;
        var query = QueryHelpers.ParseQuery(new Uri(url).Query);
        query["scope"].ToString().ShouldBe("chat:write,incoming-webhook");
        query.ContainsKey("code_challenge").ShouldBeFalse();
        var (code, state, _) = host.Providers.Authorize("slack", url);
        (await host.Browser().GetAsync($"/oauth/slack/callback?code={code}&state={state}")).Headers.Location!.ToString()
            .ShouldEndWith("outcome=connected");

        var connection = (await ConnectionAsync(organization.Id, "slack"))!;
        connection.ExternalAccountId.ShouldNotBeNull().ShouldStartWith("T");
        var tokens = (await host.Api.Services.GetRequiredService<IntegrationTokenStore>().GetAsync(connection.Id, CancellationToken.None))!;
        tokens.AccessToken.ShouldStartWith("xoxe.xoxb-");
        tokens.Extra["channel_id"].ShouldBe("C0123DEALS");

        host.Providers.RevokeAllRefreshTokens();
        await ExpireSoonAsync(connection.Id);
        var job = host.Api.Services.GetRequiredService<TokenRefreshJob>();
        (await job.RefreshOneAsync(connection.Id, DateTimeOffset.UtcNow.AddMinutes(15), CancellationToken.None)).ShouldBeFalse();
        var reauth = (await ConnectionAsync(organization.Id, "slack"))!;
        reauth.Status.ShouldBe(IntegrationStatuses.NeedsReauth);
        reauth.LastError.ShouldBe("invalid_refresh_token");
    }

    [Fact]
    public async Task Disconnect_revokes_at_the_provider_deletes_the_secret_and_the_connection()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync(Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        (await host.ConnectAsync(client, "google")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        (await host.ConnectAsync(client, "slack")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var google = (await ConnectionAsync(organization.Id, "google"))!;
        var slack = (await ConnectionAsync(organization.Id, "slack"))!;
        var store = host.Api.Services.GetRequiredService<IntegrationTokenStore>();
        var googleTokens = (await store.GetAsync(google.Id, CancellationToken.None))!;
        var slackTokens = (await store.GetAsync(slack.Id, CancellationToken.None))!;

        (await client.DeleteAsync("/api/v1/integrations/google")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        host.Providers.Calls.ShouldContain(c => c.Path == "/google/revoke" && c.Form["token"] == googleTokens.RefreshToken);
        (await store.GetAsync(google.Id, CancellationToken.None)).ShouldBeNull();
        (await ConnectionAsync(organization.Id, "google")).ShouldBeNull();

        (await client.DeleteAsync("/api/v1/integrations/slack")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        host.Providers.Calls.ShouldContain(c => c.Path == "/slack/api/auth.revoke"
            && c.Authorization == $"Bearer {slackTokens.AccessToken}");
        (await store.GetAsync(slack.Id, CancellationToken.None)).ShouldBeNull();

        var again = await Problem.ReadAsync(await client.DeleteAsync("/api/v1/integrations/google"), HttpStatusCode.NotFound);
        again.Detail.ShouldContain("google");
    }

    [Fact]
    public async Task Members_cannot_connect_or_disconnect_unknown_providers_are_not_found_and_another_org_cannot_touch_a_connection()
    {
        var host = await HostAsync();
        var member = await platform.CreateUserAsync();
        var (organization, owner) = await NewOrgAsync(Plan.Pro, (member, OrgRole.Member));
        var ownerClient = host.Api.ClientFor(owner.Id, organization.Slug);
        (await host.ConnectAsync(ownerClient, "fathom")).StatusCode.ShouldBe(HttpStatusCode.Redirect);

        var memberClient = host.Api.ClientFor(member.Id, organization.Slug);
        (await Problem.ReadAsync(await memberClient.PostAsync("/api/v1/integrations/google/connect", null), HttpStatusCode.Forbidden))
            .Code.ShouldBe("forbidden");
        await Problem.ReadAsync(await memberClient.DeleteAsync("/api/v1/integrations/fathom"), HttpStatusCode.Forbidden);
        (await memberClient.GetFromJsonAsync<JsonElement>("/api/v1/integrations")).GetProperty("items").GetArrayLength().ShouldBe(4);

        var unknown = await Problem.ReadAsync(await ownerClient.PostAsync("/api/v1/integrations/hubspot/connect", null),
            HttpStatusCode.NotFound);
        unknown.Detail.ShouldContain("hubspot");
        await Problem.ReadAsync(await ownerClient.DeleteAsync("/api/v1/integrations/hubspot"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await host.Browser().GetAsync("/oauth/hubspot/callback?code=x&state=y"), HttpStatusCode.NotFound);

        // Another org's admin sees and deletes only its own connections.
        var (other, otherOwner) = await NewOrgAsync(Plan.Pro);
        var otherClient = host.Api.ClientFor(otherOwner.Id, other.Slug);
        (await otherClient.GetFromJsonAsync<JsonElement>("/api/v1/integrations")).GetProperty("items").EnumerateArray()
            .ShouldAllBe(i => i.GetProperty("status").GetString() == "not_connected");
        await Problem.ReadAsync(await otherClient.DeleteAsync("/api/v1/integrations/fathom"), HttpStatusCode.NotFound);
        var foreign = host.Api.ClientFor(otherOwner.Id, organization.Slug);
        (await foreign.DeleteAsync("/api/v1/integrations/fathom")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ConnectionAsync(organization.Id, "fathom"))!.Status.ShouldBe(IntegrationStatuses.Connected);
    }

    [Fact]
    public async Task A_user_who_lost_the_admin_role_before_the_callback_connects_nothing()
    {
        var host = await HostAsync();
        var admin = await platform.CreateUserAsync();
        var (organization, _) = await NewOrgAsync(Plan.Pro, (admin, OrgRole.Admin));
        var started = await host.Api.ClientFor(admin.Id, organization.Slug).PostAsync("/api/v1/integrations/fathom/connect", null);
        var url = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("authorizationUrl").GetString()!;
        var (code, state, _) = host.Providers.Authorize("fathom", url);
        await using (var db = await platform.CatalogAsync())
        {
            await db.Memberships.Where(m => m.OrganizationId == organization.Id && m.UserId == admin.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(m => m.Role, OrgRole.Member));
        }

        var callback = await host.Browser().GetAsync($"/oauth/fathom/callback?code={code}&state={state}");
        callback.Headers.Location!.ToString().ShouldEndWith("outcome=error&error=not_allowed");
        (await ConnectionAsync(organization.Id, "fathom")).ShouldBeNull();
    }

    [Fact]
    public async Task Tokens_and_codes_never_reach_the_logs()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync(Plan.Pro);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        var started = await client.PostAsync("/api/v1/integrations/google/connect", null);
        var url = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("authorizationUrl").GetString()!;
        var (code, state, _) = host.Providers.Authorize("google", url);
        (await host.Browser().GetAsync($"/oauth/google/callback?code={code}&state={state}")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var connection = (await ConnectionAsync(organization.Id, "google"))!;
        await ExpireSoonAsync(connection.Id);
        await host.Api.Services.GetRequiredService<TokenRefreshJob>().RunAsync(CancellationToken.None);
        (await client.DeleteAsync("/api/v1/integrations/google")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var logs = host.Logs.Everything();
        logs.ShouldContain("connected for organization");
        logs.ShouldNotContain(code);
        logs.ShouldNotContain(state);
        logs.ShouldNotContain(OAuthProvidersStub.ClientSecret);
        foreach (var token in host.Providers.IssuedTokens)
        {
            logs.ShouldNotContain(token);
        }
    }

    private async Task<(Organization Organization, UserAccount Owner)> NewOrgAsync(string plan,
        params (UserAccount User, OrgRole Role)[] others)
    {
        var owner = await platform.CreateUserAsync();
        return (await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), .. others], plan: plan), owner);
    }

    private async Task<IntegrationConnection?> ConnectionAsync(Guid organizationId, string provider)
    {
        await using var db = await platform.CatalogAsync();
        return await db.IntegrationConnections.AsNoTracking()
            .SingleOrDefaultAsync(c => c.OrganizationId == organizationId && c.Provider == provider);
    }

    private async Task ExpireSoonAsync(Guid connectionId)
    {
        await using var db = await platform.CatalogAsync();
        await db.IntegrationConnections.Where(c => c.Id == connectionId)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.AccessTokenExpiresAt, DateTimeOffset.UtcNow.AddMinutes(2)));
    }

    /// <summary>No catalog table holds the token text (the local secret store's rows are ciphertext).</summary>
    private async Task ShouldNotBeStoredInTheClearAsync(params string[] secrets)
    {
        await using var db = await platform.CatalogAsync();
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT string_agg(t::text, '\n') FROM (SELECT * FROM integration_connections) t "
            + "UNION ALL SELECT string_agg(s::text, '\n') FROM (SELECT * FROM secrets) s "
            + "UNION ALL SELECT string_agg(a::text, '\n') FROM (SELECT * FROM integration_authorizations) a";
        await using var reader = await command.ExecuteReaderAsync();
        var dump = new System.Text.StringBuilder();
        while (await reader.ReadAsync())
        {
            dump.Append(reader.IsDBNull(0) ? string.Empty : reader.GetString(0));
        }

        dump.Length.ShouldBeGreaterThan(0);
        foreach (var secret in secrets)
        {
            dump.ToString().ShouldNotContain(secret);
        }
    }
}
