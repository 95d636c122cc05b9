using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Admin;

/// <summary>
/// Support sessions (docs/SECURITY.md, "Support access"): time-boxed, reason-required, read-only, only for the admin who
/// opened them; the organization's owners see them in their own audit log and get a mail.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class SupportSessionTests(SharedPlatform platform) : IAsyncLifetime
{
    private ApiFactory _api = null!;

    public async Task InitializeAsync() =>
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task An_admin_opens_a_session_browses_read_only_and_the_owners_see_it_in_their_audit_log_and_mail()
    {
        var (admin, asAdmin) = await AdminAsync();
        var (owner, organization, asOwner) = await OrganizationAsync();
        var company = await OrgScopedEndpoints.CreateAsync(asOwner, "companies", new { name = "Globex", domain = "globex.example" });
        await OrgScopedEndpoints.CreateAsync(asOwner, "contacts", new { firstName = "Hank", lastName = "Scorpio", email = "hank@globex.example" });
        await OrgScopedEndpoints.CreateAsync(asOwner, "contacts", new { firstName = "Homer", lastName = "Simpson" });
        await OrgScopedEndpoints.CreateAsync(asOwner, "deals", new { name = "Hammock order", companyId = company });

        var created = await asAdmin.PostAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/support-sessions",
            new { reason = "Ticket 981: contacts import looks wrong", minutes = 30 });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var session = await created.Content.ReadFromJsonAsync<JsonElement>();
        var sessionId = session.GetProperty("id").GetGuid();
        created.Headers.Location!.ToString().ShouldBe($"/api/v1/admin/support-sessions/{sessionId}");
        session.GetProperty("organizationId").GetGuid().ShouldBe(organization.Id);
        session.GetProperty("adminUserId").GetGuid().ShouldBe(admin.Id);
        session.GetProperty("adminEmail").GetString().ShouldBe(admin.Email);
        session.GetProperty("active").GetBoolean().ShouldBeTrue();
        var window = session.GetProperty("expiresAt").GetDateTimeOffset() - session.GetProperty("startedAt").GetDateTimeOffset();
        window.ShouldBe(TimeSpan.FromMinutes(30));

        var contacts = await PageAsync(asAdmin, $"/api/v1/admin/support-sessions/{sessionId}/contacts");
        contacts.Select(c => c.GetProperty("name").GetString()).ShouldBe(["Homer Simpson", "Hank Scorpio"]);
        contacts[1].GetProperty("detail").GetString().ShouldBe("hank@globex.example");
        (await PageAsync(asAdmin, $"/api/v1/admin/support-sessions/{sessionId}/contacts?q=scorpio")).ShouldHaveSingleItem();
        (await PageAsync(asAdmin, $"/api/v1/admin/support-sessions/{sessionId}/companies")).ShouldHaveSingleItem()
            .GetProperty("detail").GetString().ShouldBe("globex.example");
        (await PageAsync(asAdmin, $"/api/v1/admin/support-sessions/{sessionId}/deals")).ShouldHaveSingleItem()
            .GetProperty("name").GetString().ShouldBe("Hammock order");
        var paged = await asAdmin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/support-sessions/{sessionId}/contacts?limit=1");
        var next = await PageAsync(asAdmin,
            $"/api/v1/admin/support-sessions/{sessionId}/contacts?limit=1&cursor={paged.GetProperty("nextCursor").GetString()}");
        next.ShouldHaveSingleItem().GetProperty("name").GetString().ShouldBe("Hank Scorpio");

        var listed = await asAdmin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/support-sessions?organizationId={organization.Id}&active=true");
        listed.GetProperty("items").EnumerateArray().ShouldHaveSingleItem().GetProperty("id").GetGuid().ShouldBe(sessionId);

        var started = (await OrgAuditAsync(asOwner, "support_started")).ShouldHaveSingleItem();
        started.GetProperty("entityId").GetGuid().ShouldBe(sessionId);
        started.GetProperty("actorId").GetGuid().ShouldBe(admin.Id);
        started.GetProperty("changes").GetProperty("reason").GetString().ShouldBe("Ticket 981: contacts import looks wrong");
        started.GetProperty("changes").GetProperty("adminEmail").GetString().ShouldBe(admin.Email);
        (await CatalogCountAsync("SELECT count(*) FROM outgoing_emails WHERE kind = 'support_session' AND to_address = $1 AND "
            + "organization_id = $2", owner.Email, organization.Id)).ShouldBe(1);

        var audited = await asAdmin.GetFromJsonAsync<JsonElement>(
            $"/api/v1/admin/audit-log?organizationId={organization.Id}&action=support_session.start");
        var entry = audited.GetProperty("items").EnumerateArray().ShouldHaveSingleItem();
        entry.GetProperty("reason").GetString().ShouldBe("Ticket 981: contacts import looks wrong");
        entry.GetProperty("targetId").GetGuid().ShouldBe(sessionId);

        var revoked = await asAdmin.DeleteAsync($"/api/v1/admin/support-sessions/{sessionId}");
        revoked.StatusCode.ShouldBe(HttpStatusCode.OK, await revoked.Content.ReadAsStringAsync());
        var after = await revoked.Content.ReadFromJsonAsync<JsonElement>();
        after.GetProperty("active").GetBoolean().ShouldBeFalse();
        after.GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.String);
        var inactive = await Problem.ReadAsync(await asAdmin.GetAsync($"/api/v1/admin/support-sessions/{sessionId}/contacts"),
            HttpStatusCode.Forbidden);
        inactive.Code.ShouldBe("support_session_inactive");
        (await OrgAuditAsync(asOwner, "support_revoked")).ShouldHaveSingleItem().GetProperty("entityId").GetGuid().ShouldBe(sessionId);
        (await asAdmin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/support-sessions?organizationId={organization.Id}&active=true"))
            .GetProperty("items").GetArrayLength().ShouldBe(0);

        // Ending it again changes nothing and writes nothing more in the organization's log.
        (await asAdmin.DeleteAsync($"/api/v1/admin/support-sessions/{sessionId}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await OrgAuditAsync(asOwner, "support_revoked")).Count.ShouldBe(1);
    }

    [Fact]
    public async Task The_owner_gets_the_mail_over_smtp()
    {
        await using var worker = await WorkerHostRunner.StartAsync(platform);
        var (admin, asAdmin) = await AdminAsync();
        var (owner, organization, _) = await OrganizationAsync();

        (await asAdmin.PostAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/support-sessions",
            new { reason = "Ticket 982: <b>slow</b> deals page", minutes = 15 })).StatusCode.ShouldBe(HttpStatusCode.Created);

        // The owner also gets the organization's welcome mail; the support one is told apart by its subject.
        var mail = await platform.Mail.WaitForAsync(owner.Email, m => m.Subject!.Contains("read-only access", StringComparison.Ordinal));
        mail.Subject!.ShouldContain(organization.Name);
        mail.TextBody!.ShouldContain("Ticket 982: <b>slow</b> deals page");
        mail.TextBody!.ShouldContain(admin.Email);
        mail.HtmlBody!.ShouldContain("Ticket 982: &lt;b&gt;slow&lt;/b&gt; deals page");
    }

    [Fact]
    public async Task Browsing_changes_nothing_in_the_tenant_database()
    {
        var (_, asAdmin) = await AdminAsync();
        var (_, organization, asOwner) = await OrganizationAsync();
        await OrgScopedEndpoints.CreateAsync(asOwner, "contacts", new { firstName = "Ada", email = "ada@example.com" });
        await OrgScopedEndpoints.CreateAsync(asOwner, "companies", new { name = "Analytical Engines" });
        var session = await StartAsync(asAdmin, organization.Id);
        var before = await TenantFingerprintAsync(organization);

        foreach (var resource in new[] { "contacts", "companies", "deals" })
        {
            (await asAdmin.GetAsync($"/api/v1/admin/support-sessions/{session}/{resource}")).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await asAdmin.GetAsync($"/api/v1/admin/support-sessions/{session}/{resource}?q=ada&limit=1")).StatusCode
                .ShouldBe(HttpStatusCode.OK);
        }

        (await TenantFingerprintAsync(organization)).ShouldBe(before);
    }

    [Fact]
    public async Task The_tenant_transaction_of_a_browse_refuses_writes()
    {
        var (_, organization, _) = await OrganizationAsync();
        var access = platform.Services.GetRequiredService<ITenantDatabaseAccess>();
        var before = await TenantFingerprintAsync(organization);

        var error = await Should.ThrowAsync<Exception>(() => access.ReadAsync(organization.Id, async (db, ct) =>
        {
            db.Companies.Add(new Company { Name = "Written through support", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow });
            return await db.SaveChangesAsync(ct);
        }, CancellationToken.None));

        error.ToString().ShouldContain("read-only transaction");
        (await TenantFingerprintAsync(organization)).ShouldBe(before);
    }

    [Theory]
    [InlineData("{\"reason\":\"\",\"minutes\":10}", "reason")]
    [InlineData("{\"reason\":\"   \",\"minutes\":10}", "reason")]
    [InlineData("{\"minutes\":10}", "reason")]
    [InlineData("{\"reason\":\"Ticket 1\",\"minutes\":0}", "minutes")]
    [InlineData("{\"reason\":\"Ticket 1\",\"minutes\":61}", "minutes")]
    [InlineData("{\"reason\":\"Ticket 1\"}", "minutes")]
    [InlineData("{\"reason\":\"LONG\",\"minutes\":10}", "reason")]
    public async Task Bad_input_is_a_400_and_writes_nothing_anywhere(string body, string field)
    {
        var (_, asAdmin) = await AdminAsync();
        var (_, organization, _) = await OrganizationAsync();
        var tenantBefore = await TenantFingerprintAsync(organization);

        var problem = await Problem.ReadAsync(await asAdmin.PostAsync($"/api/v1/admin/organizations/{organization.Id}/support-sessions",
            new StringContent(body.Replace("LONG", new string('r', 501), StringComparison.Ordinal), System.Text.Encoding.UTF8,
                "application/json")), HttpStatusCode.BadRequest);

        problem.Errors!.ShouldContainKey(field);
        (await CatalogCountAsync("SELECT count(*) FROM support_sessions WHERE organization_id = $1", organization.Id)).ShouldBe(0);
        (await CatalogCountAsync("SELECT count(*) FROM outgoing_emails WHERE organization_id = $1 AND kind = 'support_session'",
            organization.Id)).ShouldBe(0);
        (await TenantFingerprintAsync(organization)).ShouldBe(tenantBefore);
    }

    [Fact]
    public async Task A_bad_resource_limit_or_cursor_is_a_400()
    {
        var (_, asAdmin) = await AdminAsync();
        var (_, organization, _) = await OrganizationAsync();
        var session = await StartAsync(asAdmin, organization.Id);

        (await Problem.ReadAsync(await asAdmin.GetAsync($"/api/v1/admin/support-sessions/{session}/invoices"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("resource");
        (await Problem.ReadAsync(await asAdmin.GetAsync($"/api/v1/admin/support-sessions/{session}/contacts?limit=0"),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("limit");
        (await Problem.ReadAsync(await asAdmin.GetAsync($"/api/v1/admin/support-sessions/{session}/contacts?cursor=xyz"),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("cursor");
    }

    [Fact]
    public async Task Non_admins_are_refused_and_write_nothing()
    {
        var (_, asAdmin) = await AdminAsync();
        var (owner, organization, _) = await OrganizationAsync();
        var session = await StartAsync(asAdmin, organization.Id);
        var asOwner = _api.ClientFor(owner.Id);

        await Problem.ReadAsync(await asOwner.PostAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/support-sessions",
            new { reason = "I am the owner", minutes = 5 }), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await asOwner.GetAsync("/api/v1/admin/support-sessions"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await asOwner.GetAsync($"/api/v1/admin/support-sessions/{session}/contacts"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await asOwner.DeleteAsync($"/api/v1/admin/support-sessions/{session}"), HttpStatusCode.Forbidden);

        (await CatalogCountAsync("SELECT count(*) FROM support_sessions WHERE organization_id = $1", organization.Id)).ShouldBe(1);
        (await CatalogCountAsync("SELECT count(*) FROM support_sessions WHERE id = $1 AND revoked_at IS NULL", session)).ShouldBe(1);
    }

    [Fact]
    public async Task Unknown_organizations_and_sessions_are_404_and_an_organization_being_deleted_is_409()
    {
        var (_, asAdmin) = await AdminAsync();
        var (_, organization, _) = await OrganizationAsync();
        var body = new { reason = "Ticket 5", minutes = 5 };

        await Problem.ReadAsync(await asAdmin.PostAsJsonAsync($"/api/v1/admin/organizations/{Guid.NewGuid()}/support-sessions", body),
            HttpStatusCode.NotFound);
        await Problem.ReadAsync(await asAdmin.GetAsync($"/api/v1/admin/support-sessions/{Guid.NewGuid()}/contacts"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await asAdmin.DeleteAsync($"/api/v1/admin/support-sessions/{Guid.NewGuid()}"), HttpStatusCode.NotFound);

        await platform.SetStatusAsync(organization.Id, OrganizationStatus.Deleting);
        await Problem.ReadAsync(await asAdmin.PostAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/support-sessions", body),
            HttpStatusCode.Conflict);
        (await CatalogCountAsync("SELECT count(*) FROM support_sessions WHERE organization_id = $1", organization.Id)).ShouldBe(0);
    }

    [Fact]
    public async Task A_suspended_organization_can_be_opened_for_support()
    {
        var (_, asAdmin) = await AdminAsync();
        var (_, organization, asOwner) = await OrganizationAsync();
        await OrgScopedEndpoints.CreateAsync(asOwner, "companies", new { name = "Still here" });
        (await asAdmin.PostAsync($"/api/v1/admin/organizations/{organization.Id}/suspend", null)).EnsureSuccessStatusCode();

        var session = await StartAsync(asAdmin, organization.Id);

        (await PageAsync(asAdmin, $"/api/v1/admin/support-sessions/{session}/companies")).ShouldHaveSingleItem();
    }

    [Fact]
    public async Task An_expired_session_is_refused()
    {
        var (_, asAdmin) = await AdminAsync();
        var (_, organization, _) = await OrganizationAsync();
        var session = await StartAsync(asAdmin, organization.Id);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE support_sessions SET started_at = started_at - interval '2 hours', expires_at = expires_at - interval '2 hours' "
            + $"WHERE id = '{session}'", platform.CatalogDatabase);

        var problem = await Problem.ReadAsync(await asAdmin.GetAsync($"/api/v1/admin/support-sessions/{session}/contacts"),
            HttpStatusCode.Forbidden);

        problem.Code.ShouldBe("support_session_inactive");
        problem.Detail.ShouldContain("expired");
        (await asAdmin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/support-sessions?organizationId={organization.Id}"))
            .GetProperty("items").EnumerateArray().ShouldHaveSingleItem().GetProperty("active").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task Another_admin_cannot_browse_the_session_but_may_end_it()
    {
        var (_, asAdmin) = await AdminAsync();
        var (_, asOtherAdmin) = await AdminAsync();
        var (_, organization, _) = await OrganizationAsync();
        var session = await StartAsync(asAdmin, organization.Id);

        var problem = await Problem.ReadAsync(await asOtherAdmin.GetAsync($"/api/v1/admin/support-sessions/{session}/contacts"),
            HttpStatusCode.Forbidden);
        problem.Detail.ShouldContain("who opened");

        (await asOtherAdmin.DeleteAsync($"/api/v1/admin/support-sessions/{session}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Problem.ReadAsync(await asAdmin.GetAsync($"/api/v1/admin/support-sessions/{session}/contacts"), HttpStatusCode.Forbidden))
            .Code.ShouldBe("support_session_inactive");
    }

    private async Task<(UserAccount Admin, HttpClient Client)> AdminAsync()
    {
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        var client = _api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={admin.Id};admin");
        return (admin, client);
    }

    private async Task<(UserAccount Owner, Organization Organization, HttpClient AsOwner)> OrganizationAsync()
    {
        var owner = await platform.CreateUserAsync(name: "Olga Owner");
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        return (owner, organization, _api.ClientFor(owner.Id, organization.Slug));
    }

    private static async Task<Guid> StartAsync(HttpClient asAdmin, Guid organizationId)
    {
        var response = await asAdmin.PostAsJsonAsync($"/api/v1/admin/organizations/{organizationId}/support-sessions",
            new { reason = "Ticket 77", minutes = 10 });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<List<JsonElement>> PageAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("items").EnumerateArray().Select(e => e.Clone())];
    }

    private static async Task<List<JsonElement>> OrgAuditAsync(HttpClient asOwner, string action)
    {
        var page = await asOwner.GetFromJsonAsync<JsonElement>($"/api/v1/audit-log?entityType=support_session&action={action}");
        return [.. page.GetProperty("items").EnumerateArray().Select(e => e.Clone())];
    }

    private async Task<long> CatalogCountAsync(string sql, params object[] parameters) =>
        await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase, sql, parameters);

    // Every row of the tables a browse reads, plus the audit log: any write would change this text.
    private static async Task<string> TenantFingerprintAsync(Organization organization)
    {
        var parts = new List<string>();
        foreach (var table in new[] { "contacts", "companies", "deals", "audit_log" })
        {
            await using var connection = new Npgsql.NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand(
                $"SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t.id)), '') FROM {table} t", connection);
            parts.Add($"{table}={await command.ExecuteScalarAsync()}");
        }

        return string.Join(';', parts);
    }
}
