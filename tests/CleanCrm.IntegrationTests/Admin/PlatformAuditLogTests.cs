using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Npgsql;

namespace CleanCrm.IntegrationTests.Admin;

/// <summary>
/// Every platform-admin command lands in the append-only platform audit log with who, from where, what, on which
/// organization, why and how it ended; <c>GET /api/v1/admin/audit-log</c> pages and filters it (docs/API.md,
/// docs/SECURITY.md "Platform audit log").
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class PlatformAuditLogTests(SharedPlatform platform) : IAsyncLifetime
{
    private ApiFactory _api = null!;

    public async Task InitializeAsync() =>
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Suspend_and_resume_with_reasons_are_logged_with_actor_channel_user_agent_and_outcome()
    {
        var (admin, client) = await AdminAsync();
        client.DefaultRequestHeaders.UserAgent.ParseAdd("audit-test/1.0");
        // Not believed: no trusted proxy is configured here, so the client cannot choose its logged address.
        client.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.77");
        var organization = await platform.CreateOrganizationAsync();

        var suspended = await client.PostAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/suspend",
            new { reason = "Chargeback under investigation" });
        suspended.StatusCode.ShouldBe(HttpStatusCode.OK, await suspended.Content.ReadAsStringAsync());
        (await client.PostAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/resume", new { reason = "Chargeback resolved" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);

        var items = await EntriesAsync(client, $"organizationId={organization.Id}");
        items.Count.ShouldBe(2);
        var resume = items[0];
        var suspend = items[1];
        resume.GetProperty("action").GetString().ShouldBe("organization.resume");
        resume.GetProperty("reason").GetString().ShouldBe("Chargeback resolved");
        suspend.GetProperty("action").GetString().ShouldBe("organization.suspend");
        suspend.GetProperty("reason").GetString().ShouldBe("Chargeback under investigation");
        suspend.GetProperty("outcome").GetString().ShouldBe("succeeded");
        suspend.GetProperty("error").ValueKind.ShouldBe(JsonValueKind.Null);
        suspend.GetProperty("actorUserId").GetGuid().ShouldBe(admin.Id);
        suspend.GetProperty("actorEmail").GetString().ShouldBe(admin.Email);
        suspend.GetProperty("channel").GetString().ShouldBe("api");
        suspend.GetProperty("userAgent").GetString()!.ShouldContain("audit-test/1.0");
        suspend.GetProperty("ipAddress").ToString().ShouldNotBe("203.0.113.77");
        suspend.GetProperty("organizationId").GetGuid().ShouldBe(organization.Id);
        suspend.GetProperty("organizationSlug").GetString().ShouldBe(organization.Slug);
        (suspend.GetProperty("occurredAt").GetDateTimeOffset() <= resume.GetProperty("occurredAt").GetDateTimeOffset()).ShouldBeTrue();
    }

    [Fact]
    public async Task Bodiless_suspend_resume_and_delete_keep_working_and_are_logged_without_a_reason()
    {
        var (_, client) = await AdminAsync();
        var organization = await platform.CreateOrganizationAsync();

        (await client.PostAsync($"/api/v1/admin/organizations/{organization.Id}/suspend", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.PostAsync($"/api/v1/admin/organizations/{organization.Id}/resume", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var deleted = await client.DeleteAsync($"/api/v1/admin/organizations/{organization.Id}");
        deleted.StatusCode.ShouldBe(HttpStatusCode.Accepted, await deleted.Content.ReadAsStringAsync());

        var items = await EntriesAsync(client, $"organizationId={organization.Id}");
        items.Select(i => i.GetProperty("action").GetString())
            .ShouldBe(["organization.delete", "organization.resume", "organization.suspend"]);
        items.ShouldAllBe(i =>
            i.GetProperty("reason").ValueKind == JsonValueKind.Null && i.GetProperty("outcome").GetString() == "succeeded");
    }

    [Fact]
    public async Task Delete_takes_an_optional_reason_in_its_body()
    {
        var (_, client) = await AdminAsync();
        var organization = await platform.CreateOrganizationAsync();
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/admin/organizations/{organization.Id}")
        {
            Content = JsonContent.Create(new { reason = "Customer asked to close the account (ticket 4411)" }),
        };

        (await client.SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        var entry = (await EntriesAsync(client, $"organizationId={organization.Id}")).ShouldHaveSingleItem();
        entry.GetProperty("action").GetString().ShouldBe("organization.delete");
        entry.GetProperty("reason").GetString().ShouldBe("Customer asked to close the account (ticket 4411)");
    }

    [Fact]
    public async Task A_reason_over_500_characters_is_a_400_that_changes_nothing_and_is_logged_as_failed()
    {
        var (_, client) = await AdminAsync();
        var organization = await platform.CreateOrganizationAsync();

        var problem = await Problem.ReadAsync(await client.PostAsJsonAsync(
            $"/api/v1/admin/organizations/{organization.Id}/suspend", new { reason = new string('x', 501) }), HttpStatusCode.BadRequest);

        problem.Code.ShouldBe("validation_failed");
        problem.Errors!.ShouldContainKey("reason");
        (await StatusAsync(organization.Id)).ShouldBe("active");
        var entry = (await EntriesAsync(client, $"organizationId={organization.Id}")).ShouldHaveSingleItem();
        entry.GetProperty("outcome").GetString().ShouldBe("failed");
        entry.GetProperty("error").GetString().ShouldBe("validation_failed");
        entry.GetProperty("reason").GetString()!.Length.ShouldBe(500);
    }

    [Fact]
    public async Task A_refused_transition_and_an_unknown_organization_are_logged_as_failed_with_their_problem_code()
    {
        var (_, client) = await AdminAsync();
        var organization = await platform.CreateOrganizationAsync();
        var unknown = Guid.NewGuid();

        // Only a failed provisioning can be retried: an active organization is a 409.
        await Problem.ReadAsync(await client.PostAsync($"/api/v1/admin/organizations/{organization.Id}/retry-provisioning", null),
            HttpStatusCode.Conflict);
        await Problem.ReadAsync(await client.PostAsync($"/api/v1/admin/organizations/{unknown}/suspend", null), HttpStatusCode.NotFound);

        var refused = (await EntriesAsync(client, $"organizationId={organization.Id}")).ShouldHaveSingleItem();
        refused.GetProperty("action").GetString().ShouldBe("provisioning.retry");
        refused.GetProperty("outcome").GetString().ShouldBe("failed");
        refused.GetProperty("error").GetString().ShouldBe("conflict");
        var missing = (await EntriesAsync(client, $"organizationId={unknown}")).ShouldHaveSingleItem();
        missing.GetProperty("action").GetString().ShouldBe("organization.suspend");
        missing.GetProperty("error").GetString().ShouldBe("not_found");
        missing.GetProperty("organizationSlug").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task Billing_overrides_and_backups_are_logged_on_their_organization()
    {
        var (_, client) = await AdminAsync();
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);

        (await client.PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/plan", new { plan = "pro" }))
            .EnsureSuccessStatusCode();
        (await client.PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/features/workflows", new { enabled = false }))
            .EnsureSuccessStatusCode();
        (await client.DeleteAsync($"/api/v1/admin/organizations/{organization.Id}/features/workflows")).EnsureSuccessStatusCode();
        (await client.PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/limits", new { seats = 7 })).EnsureSuccessStatusCode();

        var actions = (await EntriesAsync(client, $"organizationId={organization.Id}")).Select(i => i.GetProperty("action").GetString());
        actions.ShouldBe(["limit_overrides.set", "feature_override.clear", "feature_override.set", "organization_plan.change"]);
    }

    [Fact]
    public async Task Queries_are_not_logged_and_non_admins_are_refused_without_an_entry()
    {
        var (_, client) = await AdminAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var asOwner = _api.ClientFor(owner.Id, organization.Slug);

        (await client.GetAsync($"/api/v1/admin/backups?orgId={organization.Id}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Problem.ReadAsync(await asOwner.PostAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/suspend",
            new { reason = "not mine to do" }), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await asOwner.GetAsync("/api/v1/admin/audit-log"), HttpStatusCode.Forbidden);
        (await _api.CreateClient().GetAsync("/api/v1/admin/audit-log")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        (await EntriesAsync(client, $"organizationId={organization.Id}")).ShouldBeEmpty();
        (await StatusAsync(organization.Id)).ShouldBe("active");
    }

    [Fact]
    public async Task The_log_pages_newest_first_and_filters_by_actor_action_and_time()
    {
        var (admin, client) = await AdminAsync();
        var (other, otherClient) = await AdminAsync();
        var organization = await platform.CreateOrganizationAsync();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        for (var i = 0; i < 3; i++)
        {
            (await client.PostAsync($"/api/v1/admin/organizations/{organization.Id}/suspend", null)).EnsureSuccessStatusCode();
            (await client.PostAsync($"/api/v1/admin/organizations/{organization.Id}/resume", null)).EnsureSuccessStatusCode();
        }

        (await otherClient.PostAsync($"/api/v1/admin/organizations/{organization.Id}/suspend", null)).EnsureSuccessStatusCode();

        var first = await client.GetFromJsonAsync<JsonElement>($"/api/v1/admin/audit-log?organizationId={organization.Id}&limit=4");
        var second = await client.GetFromJsonAsync<JsonElement>(
            $"/api/v1/admin/audit-log?organizationId={organization.Id}&limit=4&cursor={first.GetProperty("nextCursor").GetString()}");
        var all = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray()).ToList();
        all.Count.ShouldBe(7);
        second.GetProperty("nextCursor").ValueKind.ShouldBe(JsonValueKind.Null);
        all.Select(i => i.GetProperty("id").GetGuid()).Distinct().Count().ShouldBe(7);
        all.Select(i => i.GetProperty("occurredAt").GetDateTimeOffset()).ShouldBeInOrder(SortDirection.Descending);
        all[0].GetProperty("actorUserId").GetGuid().ShouldBe(other.Id);

        (await EntriesAsync(client, $"organizationId={organization.Id}&actorUserId={admin.Id}")).Count.ShouldBe(6);
        (await EntriesAsync(client, $"organizationId={organization.Id}&action=organization.resume")).Count.ShouldBe(3);
        (await EntriesAsync(client, $"organizationId={organization.Id}&action=organization")).Count.ShouldBe(7);
        (await EntriesAsync(client, $"organizationId={organization.Id}&action=backup")).ShouldBeEmpty();
        (await EntriesAsync(client, $"organizationId={organization.Id}&from={Uri.EscapeDataString(before.ToString("O"))}")).Count
            .ShouldBe(7);
        (await EntriesAsync(client, $"organizationId={organization.Id}&to={Uri.EscapeDataString(before.ToString("O"))}")).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=201", "limit")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    [InlineData("action=Organization%20Suspend", "action")]
    [InlineData("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to")]
    public async Task A_bad_filter_is_a_400_naming_the_field(string query, string field)
    {
        var (_, client) = await AdminAsync();

        var problem = await Problem.ReadAsync(await client.GetAsync($"/api/v1/admin/audit-log?{query}"), HttpStatusCode.BadRequest);

        problem.Errors!.ShouldContainKey(field);
    }

    [Theory]
    [InlineData("from=yesterday")]
    [InlineData("organizationId=acme")]
    public async Task A_filter_of_the_wrong_type_is_a_400(string query)
    {
        var (_, client) = await AdminAsync();

        await Problem.ReadAsync(await client.GetAsync($"/api/v1/admin/audit-log?{query}"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Cli_suspend_and_resume_are_logged_with_the_cli_channel_and_their_reason()
    {
        var (_, client) = await AdminAsync();
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var environment = platform.Settings.Where(s => s.Value is not null)
            .ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!);
        environment["DOTNET_ENVIRONMENT"] = "Production";

        var (suspendExit, suspendOutput) = await Api.WorkerCliTests.RunAsync(
            ["suspend", organization.Slug, "--reason", "Abuse report 12"], environment);
        suspendExit.ShouldBe(0, suspendOutput);
        (await StatusAsync(organization.Id)).ShouldBe("suspended");
        var (resumeExit, resumeOutput) = await Api.WorkerCliTests.RunAsync(["resume", organization.Slug], environment);
        resumeExit.ShouldBe(0, resumeOutput);

        var items = await EntriesAsync(client, $"organizationId={organization.Id}");
        items.Select(i => i.GetProperty("action").GetString()).ShouldBe(["organization.resume", "organization.suspend"]);
        items.ShouldAllBe(i =>
            i.GetProperty("channel").GetString() == "cli" && i.GetProperty("actorUserId").ValueKind == JsonValueKind.Null);
        items[1].GetProperty("reason").GetString().ShouldBe("Abuse report 12");
        items[1].GetProperty("userAgent").GetString()!.ShouldStartWith("cleancrm-worker (");
    }

    [Fact]
    public async Task The_log_is_append_only_in_the_database()
    {
        var (_, client) = await AdminAsync();
        var organization = await platform.CreateOrganizationAsync();
        (await client.PostAsync($"/api/v1/admin/organizations/{organization.Id}/suspend", null)).EnsureSuccessStatusCode();

        var update = await Should.ThrowAsync<PostgresException>(() => TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE platform_audit_log SET reason = 'rewritten' WHERE organization_id = '{organization.Id}'", platform.CatalogDatabase));
        update.MessageText.ShouldContain("append-only");
        var delete = await Should.ThrowAsync<PostgresException>(() => TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"DELETE FROM platform_audit_log WHERE organization_id = '{organization.Id}'", platform.CatalogDatabase));
        delete.MessageText.ShouldContain("append-only");
        await Should.ThrowAsync<PostgresException>(() => TestDatabaseServers.ExecuteAsync(
            TestDatabaseServers.Primary, "TRUNCATE platform_audit_log", platform.CatalogDatabase));

        var entry = (await EntriesAsync(client, $"organizationId={organization.Id}")).ShouldHaveSingleItem();
        entry.GetProperty("reason").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    private async Task<(UserAccount Admin, HttpClient Client)> AdminAsync()
    {
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        var client = _api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={admin.Id};admin");
        return (admin, client);
    }

    private static async Task<List<JsonElement>> EntriesAsync(HttpClient client, string query)
    {
        var response = await client.GetAsync($"/api/v1/admin/audit-log?{query}&limit=200");
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("items").EnumerateArray().Select(e => e.Clone())];
    }

    private async Task<string?> StatusAsync(Guid organizationId) =>
        await TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT status FROM organizations WHERE id = $1", organizationId);
}
