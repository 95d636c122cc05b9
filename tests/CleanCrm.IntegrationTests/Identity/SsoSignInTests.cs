using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>
/// Sign-in through an organization's identity provider end to end (docs/SECURITY.md, "Enterprise SSO"), against a second
/// OpenID Connect provider started by the test: code + PKCE + nonce, the ID token checked, the user provisioned just in
/// time, then the SPA's authorization code flow on the session it leaves.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class SsoSignInTests(SharedPlatform platform) : IAsyncLifetime
{
    private const string SpaRedirectUri = "http://localhost:5173/callback";
    private ApiFactory _api = null!;
    private TestOidcProvider _idp = null!;

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        _idp = await TestOidcProvider.StartAsync();
    }

    public async Task DisposeAsync() => await _idp.DisposeAsync();

    [Fact]
    public async Task A_domain_user_signs_in_at_the_identity_provider_gets_a_jit_membership_and_the_spa_its_tokens()
    {
        var (organization, providerId, domain) = await ConfigureAsync(enforce: true);
        _idp.Email = $"new-{Guid.NewGuid():N}@{domain}";
        var realm = await _api.Services.GetRequiredService<Application.Common.Identity.IHomeRealmDiscovery>()
            .FindAsync(_idp.Email, CancellationToken.None);
        realm!.StartPath.ShouldBe($"/account/sso/{providerId}/start", "the sign-in page routes this domain to the provider");

        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var authorize = $"/connect/authorize?client_id=cleancrm-spa&response_type=code&redirect_uri={Uri.EscapeDataString(SpaRedirectUri)}"
            + $"&scope=openid%20api&state=spa1&code_challenge={Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)))}"
            + "&code_challenge_method=S256";
        var browser = _api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var back = await ThroughProviderAsync(browser, $"{realm.StartPath}?returnUrl={Uri.EscapeDataString(authorize)}");
        var signedIn = await browser.GetAsync(back);
        signedIn.StatusCode.ShouldBe(HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
        signedIn.Headers.Location!.ToString().ShouldBe(authorize);

        var toSpa = await browser.GetAsync(authorize);
        toSpa.StatusCode.ShouldBe(HttpStatusCode.Redirect, await toSpa.Content.ReadAsStringAsync());
        toSpa.Headers.Location!.ToString().ShouldStartWith(SpaRedirectUri);
        var code = System.Web.HttpUtility.ParseQueryString(toSpa.Headers.Location!.Query)["code"]!;
        var token = await _api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = "cleancrm-spa",
            ["code"] = code,
            ["redirect_uri"] = SpaRedirectUri,
            ["code_verifier"] = verifier,
        }));
        token.StatusCode.ShouldBe(HttpStatusCode.OK, await token.Content.ReadAsStringAsync());
        var client = _api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString());
        var me = await client.GetFromJsonAsync<JsonElement>("/api/v1/me");
        me.GetProperty("email").GetString().ShouldBe(_idp.Email);
        var membership = me.GetProperty("organizations").EnumerateArray().ShouldHaveSingleItem();
        membership.GetProperty("slug").GetString().ShouldBe(organization.Slug);
        membership.GetProperty("role").GetString().ShouldBe("member", "the provider's default role");

        // The provisioned user has no password, and the domain is enforced: the password grant is refused anyway.
        var password = await _api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["client_id"] = "cleancrm-cli",
            ["username"] = _idp.Email,
            ["password"] = "anything at all 1",
        }));
        password.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await password.Content.ReadAsStringAsync()).ShouldContain("single sign-on");
    }

    [Theory]
    [InlineData("issuer")]
    [InlineData("nonce")]
    public async Task An_id_token_from_another_issuer_or_with_another_nonce_is_refused_and_nobody_is_provisioned(string fault)
    {
        var (_, providerId, domain) = await ConfigureAsync(enforce: false);
        _idp.Email = $"victim-{Guid.NewGuid():N}@{domain}";
        if (fault == "issuer")
        {
            _idp.IssuerOverride = "https://evil.example";
        }
        else
        {
            _idp.NonceOverride = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        }

        var browser = _api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var back = await ThroughProviderAsync(browser, $"/account/sso/{providerId}/start");
        var refused = await browser.GetAsync(back);
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await refused.Content.ReadAsStringAsync());
        (await refused.Content.ReadAsStringAsync()).ShouldContain("could not be verified");
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT count(*) FROM users WHERE email = $1", _idp.Email)).ShouldBe(0);
        refused.Headers.TryGetValues("Set-Cookie", out var cookies);
        (cookies ?? []).ShouldNotContain(c => c.StartsWith("cleancrm.session=", StringComparison.Ordinal), "no sign-in session");
    }

    [Fact]
    public async Task A_callback_without_the_flow_it_belongs_to_and_an_existing_non_member_are_refused()
    {
        (await _api.CreateClient().GetAsync("/account/sso/callback?code=abc&state=forged")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await _api.CreateClient().GetAsync($"/account/sso/{Guid.NewGuid()}/start")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        var (_, providerId, domain) = await ConfigureAsync(enforce: false);
        var outsider = await platform.CreateUserAsync(email: $"outsider-{Guid.NewGuid():N}@{domain}");
        _idp.Email = outsider.Email;
        var browser = _api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var refused = await browser.GetAsync(await ThroughProviderAsync(browser, $"/account/sso/{providerId}/start"));
        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden, await refused.Content.ReadAsStringAsync());
        (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT count(*) FROM memberships WHERE user_id = $1", outsider.Id)).ShouldBe(0);
    }

    /// <summary>Starts the flow, lets the provider sign in, and returns the callback path the provider redirects to.</summary>
    private async Task<string> ThroughProviderAsync(HttpClient browser, string start)
    {
        var toProvider = await browser.GetAsync(start);
        toProvider.StatusCode.ShouldBe(HttpStatusCode.Redirect, await toProvider.Content.ReadAsStringAsync());
        var authorizeAtProvider = toProvider.Headers.Location!;
        authorizeAtProvider.ToString().ShouldStartWith(_idp.Issuer + "/authorize?");
        var query = System.Web.HttpUtility.ParseQueryString(authorizeAtProvider.Query);
        query["code_challenge_method"].ShouldBe("S256");
        query["nonce"].ShouldNotBeNullOrEmpty();
        using var providerBrowser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var back = await providerBrowser.GetAsync(authorizeAtProvider);
        back.StatusCode.ShouldBe(HttpStatusCode.Redirect, await back.Content.ReadAsStringAsync());
        var callback = back.Headers.Location!;
        callback.AbsolutePath.ShouldBe("/account/sso/callback");
        return callback.PathAndQuery;
    }

    private async Task<(Organization Organization, Guid ProviderId, string Domain)> ConfigureAsync(bool enforce)
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Enterprise);
        var domain = $"{organization.Slug}.example";
        var saved = await _api.ClientFor(owner.Id).PutAsJsonAsync($"/api/v1/orgs/{organization.Slug}/sso",
            new Application.Sso.Commands.SaveSsoConfiguration.SsoConfigurationFields(
                "Test IdP", _idp.Issuer, _idp.ClientId, _idp.ClientSecret, [domain], enforce, JitProvisioning: true, DefaultRole: null));
        saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        return (organization, (await saved.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("providerId").GetGuid(), domain);
    }
}
