using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>
/// An organization's identity provider (docs/SECURITY.md, "Enterprise SSO"): owners of Enterprise organizations configure
/// it, its domains are discovered by email, and enforcement refuses the password grant for its members.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class SsoConfigurationTests(SharedPlatform platform) : IAsyncLifetime
{
    private const string Password = "correct horse battery staple";
    private ApiFactory _api = null!;

    public async Task InitializeAsync() =>
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task An_owner_configures_reads_and_removes_the_provider_and_the_secret_stays_in_the_secret_store()
    {
        var (owner, organization, domain) = await EnterpriseAsync();
        var path = $"/api/v1/orgs/{organization.Slug}/sso";
        (await _api.ClientFor(owner.Id).GetAsync(path)).StatusCode.ShouldBe(HttpStatusCode.NotFound, "nothing configured yet");

        var saved = await _api.ClientFor(owner.Id).PutAsJsonAsync(path, Fields(domain, secret: "s3cret-value", enforce: true));
        saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        var body = await saved.Content.ReadAsStringAsync();
        body.ShouldNotContain("s3cret-value");
        var dto = JsonDocument.Parse(body).RootElement;
        var providerId = dto.GetProperty("providerId").GetGuid();
        dto.GetProperty("clientSecretSet").GetBoolean().ShouldBeTrue();
        dto.GetProperty("allowedDomains").EnumerateArray().Select(d => d.GetString()).ShouldBe([domain]);
        dto.GetProperty("defaultRole").GetString().ShouldBe("member");
        dto.GetProperty("signInPath").GetString().ShouldBe($"/account/sso/{providerId}/start");
        var secretName = await ScalarAsync<string>(
            $"SELECT client_secret_name FROM organization_identity_providers WHERE id = '{providerId}'");
        (await platform.Services.GetRequiredService<ISecretStore>().GetAsync(secretName)).ShouldBe("s3cret-value");
        (await ScalarAsync<long>($"SELECT count(*) FROM organization_identity_providers WHERE client_secret_name LIKE '%s3cret%'"))
            .ShouldBe(0);

        // A later save without a secret keeps it; a new one replaces it.
        var again = await _api.ClientFor(owner.Id)
            .PutAsJsonAsync(path, Fields(domain, secret: null, enforce: false) with { DefaultRole = "readonly" });
        again.StatusCode.ShouldBe(HttpStatusCode.OK, await again.Content.ReadAsStringAsync());
        (await platform.Services.GetRequiredService<ISecretStore>().GetAsync(secretName)).ShouldBe("s3cret-value");
        var read = await _api.ClientFor(owner.Id).GetFromJsonAsync<JsonElement>(path);
        read.GetProperty("providerId").GetGuid().ShouldBe(providerId);
        read.GetProperty("defaultRole").GetString().ShouldBe("readonly");
        read.GetProperty("enforce").GetBoolean().ShouldBeFalse();

        (await _api.ClientFor(owner.Id).DeleteAsync(path)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await _api.ClientFor(owner.Id).GetAsync(path)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await platform.Services.GetRequiredService<ISecretStore>().GetAsync(secretName)).ShouldBeNull();
        (await Realms().FindAsync($"someone@{domain}", CancellationToken.None)).ShouldBeNull();
    }

    [Fact]
    public async Task Non_owners_other_organizations_and_other_plans_are_refused_and_nothing_changes()
    {
        var admin = await platform.CreateUserAsync();
        var member = await platform.CreateUserAsync();
        var stranger = await platform.CreateUserAsync();
        var (owner, organization, domain) = await EnterpriseAsync((admin, OrgRole.Admin), (member, OrgRole.Member));
        var otherOwner = await platform.CreateUserAsync();
        await platform.CreateOrganizationAsync(members: [(otherOwner, OrgRole.Owner)], plan: Plan.Enterprise);
        var path = $"/api/v1/orgs/{organization.Slug}/sso";

        await Problem.ReadAsync(await _api.ClientFor(admin.Id).PutAsJsonAsync(path, Fields(domain)), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await _api.ClientFor(member.Id).GetAsync(path), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await _api.ClientFor(otherOwner.Id).PutAsJsonAsync(path, Fields(domain)), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await _api.ClientFor(stranger.Id).DeleteAsync(path), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await _api.ClientFor(owner.Id).GetAsync("/api/v1/orgs/no-such-org-here/sso"), HttpStatusCode.NotFound);
        (await _api.CreateClient().GetAsync(path)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        var proOwner = await platform.CreateUserAsync();
        var pro = await platform.CreateOrganizationAsync(members: [(proOwner, OrgRole.Owner)], plan: Plan.Pro);
        var refused = await Problem.ReadAsync(
            await _api.ClientFor(proOwner.Id).PutAsJsonAsync($"/api/v1/orgs/{pro.Slug}/sso", Fields($"{pro.Slug}.example")),
            HttpStatusCode.Forbidden);
        refused.Code.ShouldBe("feature_disabled");
        refused.Detail.ShouldContain("Enterprise");
        (await ScalarAsync<long>(
            $"SELECT count(*) FROM organization_identity_providers WHERE organization_id IN ('{organization.Id}', '{pro.Id}')"))
            .ShouldBe(0);

        // Features stay the documented keys: SSO is gated on the plan, not a feature flag.
        var features = await _api.ClientFor(owner.Id, org: organization.Slug).GetFromJsonAsync<JsonElement>("/api/v1/features");
        features.GetRawText().ShouldNotContain("sso");
    }

    [Theory]
    [InlineData("issuer", "not a url")]
    [InlineData("issuer", "http://idp.example.com")]
    [InlineData("clientId", "")]
    [InlineData("allowedDomains", "")]
    [InlineData("allowedDomains", "not_a_domain")]
    [InlineData("defaultRole", "owner")]
    [InlineData("clientSecret", "")]
    public async Task Bad_input_is_a_validation_problem_and_nothing_is_stored(string field, string value)
    {
        var (owner, organization, domain) = await EnterpriseAsync();
        var fields = Fields(domain);
        fields = field switch
        {
            "issuer" => fields with { Issuer = value },
            "clientId" => fields with { ClientId = value },
            "allowedDomains" => fields with { AllowedDomains = value.Length == 0 ? [] : [value] },
            "defaultRole" => fields with { DefaultRole = value },
            _ => fields with { ClientSecret = null },
        };
        var problem = await Problem.ReadAsync(
            await _api.ClientFor(owner.Id).PutAsJsonAsync($"/api/v1/orgs/{organization.Slug}/sso", fields), HttpStatusCode.BadRequest);
        problem.Errors!.Keys.ShouldContain(field);
        (await ScalarAsync<long>($"SELECT count(*) FROM organization_identity_providers WHERE organization_id = '{organization.Id}'"))
            .ShouldBe(0);
    }

    [Fact]
    public async Task A_domain_belongs_to_one_organization()
    {
        var (owner, organization, domain) = await EnterpriseAsync();
        var (otherOwner, other, _) = await EnterpriseAsync();
        (await _api.ClientFor(owner.Id).PutAsJsonAsync($"/api/v1/orgs/{organization.Slug}/sso", Fields(domain)))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        var taken = await Problem.ReadAsync(
            await _api.ClientFor(otherOwner.Id).PutAsJsonAsync($"/api/v1/orgs/{other.Slug}/sso", Fields(domain.ToUpperInvariant())),
            HttpStatusCode.Conflict);
        taken.Code.ShouldBe("sso_domain_taken");
        (await ScalarAsync<long>($"SELECT count(*) FROM organization_identity_providers WHERE organization_id = '{other.Id}'"))
            .ShouldBe(0);
    }

    [Fact]
    public async Task Emails_of_the_domain_are_discovered_for_members_and_new_users_and_enforcement_refuses_their_password()
    {
        var slug = $"sso{Guid.NewGuid():N}"[..20];
        var domain = $"{slug}.example";
        var member = await platform.CreateUserAsync(email: $"member-{Guid.NewGuid():N}@{domain}");
        var (owner, organization, _) = await EnterpriseAsync(slug, (member, OrgRole.Member));
        var outsider = await platform.CreateUserAsync(email: $"outsider-{Guid.NewGuid():N}@{domain}");
        await SetPasswordAsync(member);
        await SetPasswordAsync(outsider);
        (await PasswordGrantAsync(member)).StatusCode.ShouldBe(HttpStatusCode.OK, "no provider yet");

        var saved = await _api.ClientFor(owner.Id).PutAsJsonAsync($"/api/v1/orgs/{organization.Slug}/sso",
            Fields(domain, enforce: true) with { DisplayName = "Acme Okta" });
        var providerId = (await saved.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("providerId").GetGuid();

        var realm = (await Realms().FindAsync(member.Email.ToUpperInvariant(), CancellationToken.None)).ShouldNotBeNull();
        realm.ShouldBe(new HomeRealm(organization.Id, providerId, "Acme Okta", true, $"/account/sso/{providerId}/start"));
        (await Realms().FindAsync($"new-{Guid.NewGuid():N}@{domain}", CancellationToken.None)).ShouldNotBeNull("JIT candidates");
        (await Realms().FindAsync(outsider.Email, CancellationToken.None))
            .ShouldBeNull("an existing user of no organization of the provider keeps their password");
        (await Realms().FindAsync("someone@elsewhere.example", CancellationToken.None)).ShouldBeNull();

        var refused = await PasswordGrantAsync(member);
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var error = await refused.Content.ReadFromJsonAsync<JsonElement>();
        error.GetProperty("error").GetString().ShouldBe("invalid_grant");
        error.GetProperty("error_description").GetString()!.ShouldContain("Acme Okta");
        (await PasswordGrantAsync(outsider)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // Not enforced: the password works again.
        (await _api.ClientFor(owner.Id).PutAsJsonAsync($"/api/v1/orgs/{organization.Slug}/sso", Fields(domain, secret: null)))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        (await PasswordGrantAsync(member)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private IHomeRealmDiscovery Realms() => _api.Services.GetRequiredService<IHomeRealmDiscovery>();

    private Task<(UserAccount Owner, Organization Organization, string Domain)> EnterpriseAsync(
        params (UserAccount User, OrgRole Role)[] others) => EnterpriseAsync(null, others);

    private async Task<(UserAccount Owner, Organization Organization, string Domain)> EnterpriseAsync(
        string? slug, params (UserAccount User, OrgRole Role)[] others)
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(
            slug: slug, members: [(owner, OrgRole.Owner), .. others], plan: Plan.Enterprise);
        return (owner, organization, $"{organization.Slug}.example");
    }

    private static Application.Sso.Commands.SaveSsoConfiguration.SsoConfigurationFields Fields(
        string domain, string? secret = "client-secret", bool enforce = false) =>
        new(null, "https://idp.example.com/tenant", "cleancrm", secret, [domain], enforce, JitProvisioning: true, DefaultRole: null);

    private async Task SetPasswordAsync(UserAccount user)
    {
        var hash = new CleanCrm.Infrastructure.Provisioning.PasswordHashing().Hash(Password);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE users SET password_hash = '{hash}' WHERE id = '{user.Id}'", platform.CatalogDatabase);
    }

    private Task<HttpResponseMessage> PasswordGrantAsync(UserAccount user) =>
        _api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["client_id"] = "cleancrm-cli",
            ["username"] = user.Email,
            ["password"] = Password,
            ["scope"] = "openid api",
        }));

    private async Task<T> ScalarAsync<T>(string sql) =>
        (await TestDatabaseServers.ScalarAsync<T>(TestDatabaseServers.Primary, platform.CatalogDatabase, sql))!;
}
