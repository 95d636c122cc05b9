using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.IntegrationTests.Provisioning;

/// <summary>Signup to a live tenant through the real API and the real worker host (Hangfire on the catalog).</summary>
[Collection(PlatformCollection.Name)]
public sealed class SignupAndProvisioningTests(SharedPlatform platform) : IAsyncLifetime
{
    private ApiFactory _api = null!;
    private WorkerHostRunner _worker = null!;

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("signup-api", () => Task.FromResult(new ApiFactory(platform)));
        _worker = await WorkerHostRunner.StartAsync(platform);
    }

    [Fact]
    public async Task Signup_is_accepted_then_provisioned_to_an_active_tenant_that_serves_crm_calls()
    {
        var slug = NewSlug();
        var body = SignupBody(slug);
        var response = await _api.CreateClient().PostAsJsonAsync("/api/v1/signup", body);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        response.Headers.Location!.ToString().ShouldBe($"/api/v1/orgs/{slug}/provisioning");
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        accepted.GetProperty("slug").GetString().ShouldBe(slug);
        accepted.GetProperty("status").GetString().ShouldBe("pending");
        var organizationId = accepted.GetProperty("organizationId").GetGuid();

        var owner = await OwnerOfAsync(organizationId);
        var status = await WaitForStatusAsync(owner, slug, "active");
        status.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("name").GetString()).ShouldBe(ProvisioningSteps.All);
        status.GetProperty("steps").EnumerateArray().ShouldAllBe(s => s.GetProperty("status").GetString() == "succeeded"
            && s.GetProperty("finishedAt").ValueKind == JsonValueKind.String);

        var client = _api.ClientFor(owner, slug);
        (await client.PostAsJsonAsync("/api/v1/companies", new { name = "First customer" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        var organization = await OrganizationAsync(organizationId);
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM companies")).ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(organization, $"SELECT count(*) FROM members WHERE id = '{owner}' AND role = 'owner'"))
            .ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM pipelines WHERE is_default")).ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM pipeline_stages")).ShouldBe(6);
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM pipeline_stages WHERE kind IN ('won', 'lost')"))
            .ShouldBe(2);

        // Activation mailed the owner a welcome (SMTP, from the worker's mail job), exactly once.
        var welcome = await platform.Mail.WaitForAsync(body["ownerEmail"], m => m.Subject!.Contains("is ready", StringComparison.Ordinal));
        welcome.TextBody!.ShouldContain($"https://app.cleancrm.test/{slug}");
        welcome.HtmlBody.ShouldNotBeNullOrEmpty();
        // The signup also mails a link to verify the address (docs/SECURITY.md, "Signing in"); the welcome goes out once.
        platform.Mail.CountTo(body["ownerEmail"], m => m.Subject!.Contains("is ready", StringComparison.Ordinal)).ShouldBe(1);
    }

    [Theory]
    [InlineData("slug", "Bad_Slug")]
    [InlineData("slug", "admin")]
    [InlineData("slug", "ab")]
    [InlineData("ownerEmail", "not-an-email")]
    [InlineData("ownerPassword", "short")]
    [InlineData("ownerPassword", "aaaaaaaaaaaaaaaa")]
    [InlineData("plan", "platinum")]
    [InlineData("organizationName", "")]
    public async Task Invalid_signups_are_400_naming_the_field_and_write_nothing(string field, string value)
    {
        var slug = NewSlug();
        var body = SignupBody(slug);
        body[field] = value;
        var problem = await Problem.ReadAsync(await _api.CreateClient().PostAsJsonAsync("/api/v1/signup", body), HttpStatusCode.BadRequest);
        problem.Errors!.ShouldContainKey(field);
        (await CountAsync($"SELECT count(*) FROM users WHERE email = '{body["ownerEmail"]}'")).ShouldBe(0);
        (await CountAsync($"SELECT count(*) FROM organizations WHERE slug = '{slug}'")).ShouldBe(0);
    }

    [Fact]
    public async Task Unknown_fields_and_malformed_bodies_are_refused()
    {
        var body = SignupBody(NewSlug());
        body["coupon"] = "FREE";
        (await Problem.ReadAsync(await _api.CreateClient().PostAsJsonAsync("/api/v1/signup", body), HttpStatusCode.BadRequest))
            .Detail.ShouldContain("coupon");
        await Problem.ReadAsync(await _api.CreateClient()
            .PostAsync("/api/v1/signup", new StringContent("{", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_taken_slug_or_email_is_a_409_case_insensitively()
    {
        var slug = NewSlug();
        var first = SignupBody(slug);
        (await _api.CreateClient().PostAsJsonAsync("/api/v1/signup", first)).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        var sameSlug = SignupBody(slug);
        sameSlug["ownerEmail"] = $"someone-else-{slug}@example.com";
        (await Problem.ReadAsync(await _api.CreateClient().PostAsJsonAsync("/api/v1/signup", sameSlug), HttpStatusCode.Conflict))
            .Type.ShouldEndWith("/slug_taken");

        var sameEmail = SignupBody(NewSlug());
        sameEmail["ownerEmail"] = first["ownerEmail"].ToUpperInvariant();
        (await Problem.ReadAsync(await _api.CreateClient().PostAsJsonAsync("/api/v1/signup", sameEmail), HttpStatusCode.Conflict))
            .Type.ShouldEndWith("/email_taken");
        (await CountAsync($"SELECT count(*) FROM organizations WHERE slug = '{slug}'")).ShouldBe(1);
    }

    [Fact]
    public async Task Racing_signups_for_one_slug_let_exactly_one_win()
    {
        var slug = NewSlug();
        var responses =
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _api.CreateClient().PostAsJsonAsync("/api/v1/signup", SignupBody(slug))));
        responses.Count(r => r.StatusCode == HttpStatusCode.Accepted).ShouldBe(1);
        responses.Count(r => r.StatusCode == HttpStatusCode.Conflict).ShouldBe(7);
        (await CountAsync($"SELECT count(*) FROM organizations WHERE slug = '{slug}'")).ShouldBe(1);
        (await CountAsync(
            $"SELECT count(*) FROM provisioning_runs r JOIN organizations o ON o.id = r.organization_id WHERE o.slug = '{slug}'"))
            .ShouldBe(1);
    }

    [Fact]
    public async Task A_signed_in_user_can_own_several_orgs_and_only_owners_see_provisioning()
    {
        var slug = NewSlug();
        var accepted = await (await _api.CreateClient().PostAsJsonAsync("/api/v1/signup", SignupBody(slug)))
            .Content.ReadFromJsonAsync<JsonElement>();
        var owner = await OwnerOfAsync(accepted.GetProperty("organizationId").GetGuid());
        var second = NewSlug();
        var created = await _api.ClientFor(owner)
            .PostAsJsonAsync("/api/v1/orgs", new { organizationName = "Second", slug = second, plan = "pro" });
        created.StatusCode.ShouldBe(HttpStatusCode.Accepted, await created.Content.ReadAsStringAsync());
        await WaitForStatusAsync(owner, second, "active");

        var stranger = await platform.CreateUserAsync();
        await Problem.ReadAsync(await _api.ClientFor(stranger.Id).GetAsync($"/api/v1/orgs/{second}/provisioning"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await _api.CreateClient()
            .PostAsJsonAsync("/api/v1/orgs", new { organizationName = "X", slug = NewSlug(), plan = "free" }), HttpStatusCode.Unauthorized);
        (await Problem.ReadAsync(await _api.ClientFor(owner).PostAsJsonAsync("/api/v1/orgs",
            new { organizationName = "X", slug = second, plan = "free" }), HttpStatusCode.Conflict)).Type.ShouldEndWith("/slug_taken");
        (await Problem.ReadAsync(await _api.ClientFor(owner).PostAsJsonAsync("/api/v1/orgs",
            new { organizationName = "X", slug = "www", plan = "free" }), HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("slug");
    }

    [Fact]
    public async Task A_run_that_fails_marks_the_org_failed_with_the_error_and_an_admin_retry_makes_it_active()
    {
        var owner = await platform.CreateUserAsync();
        var unreachable = await platform.RegisterServerAsync(
            $"unreachable-{Guid.NewGuid():N}"[..24],
            new Npgsql.NpgsqlConnectionStringBuilder(TestDatabaseServers.Primary.ConnectionString)
            {
                Host = "localhost",
                Port = 1,
                Timeout = 1
            });
        var organization =
            await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: unreachable.Id, provision: false);
        var onboarding = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<CleanCrm.Infrastructure.Provisioning.TenantOnboarding>(platform.Services);
        (await onboarding.ProvisionAsync(organization.Id, CancellationToken.None)).ShouldBe(ProvisioningStatus.Failed);

        var status = await _api.ClientFor(owner.Id).GetFromJsonAsync<JsonElement>($"/api/v1/orgs/{organization.Slug}/provisioning");
        status.GetProperty("status").GetString().ShouldBe("failed");
        status.GetProperty("attempt").GetInt32().ShouldBe(1);
        var failedStep = status.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("status").GetString() == "failed");
        failedStep.GetProperty("name").GetString().ShouldBe(ProvisioningSteps.CreateRole);
        failedStep.GetProperty("error").GetString()!.ShouldNotBeNullOrWhiteSpace();
        await Problem.ReadAsync(await _api.ClientFor(owner.Id, organization.Slug).GetAsync("/api/v1/companies"), HttpStatusCode.Conflict);

        // Not for org owners; then the operator fixes the server and retries.
        await Problem.ReadAsync(await _api.ClientFor(owner.Id)
            .PostAsync($"/api/v1/admin/organizations/{organization.Id}/retry-provisioning", null), HttpStatusCode.Forbidden);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE database_servers SET port = {TestDatabaseServers.Primary.Port} WHERE id = '{unreachable.Id}'",
            platform.CatalogDatabase);
        var admin = AdminClient();
        (await admin.PostAsync($"/api/v1/admin/organizations/{Guid.NewGuid()}/retry-provisioning", null))
            .StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var retried = await admin.PostAsync($"/api/v1/admin/organizations/{organization.Id}/retry-provisioning", null);
        retried.StatusCode.ShouldBe(HttpStatusCode.OK, await retried.Content.ReadAsStringAsync());
        var done = await WaitForStatusAsync(owner.Id, organization.Slug, "active");
        done.GetProperty("attempt").GetInt32().ShouldBe(2);
        (await _api.ClientFor(owner.Id, organization.Slug).GetAsync("/api/v1/companies")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Problem.ReadAsync(await admin.PostAsync($"/api/v1/admin/organizations/{organization.Id}/retry-provisioning", null),
            HttpStatusCode.Conflict)).Detail.ShouldContain("active");
    }

    [Fact]
    public async Task Admins_suspend_and_resume_an_org_and_members_are_refused_meanwhile()
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var client = _api.ClientFor(owner.Id, organization.Slug);
        await Problem.ReadAsync(await client.PostAsync($"/api/v1/admin/organizations/{organization.Id}/suspend", null),
            HttpStatusCode.Forbidden);

        var admin = AdminClient();
        var suspended = await admin.PostAsync($"/api/v1/admin/organizations/{organization.Id}/suspend", null);
        (await suspended.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString().ShouldBe("suspended");
        (await Problem.ReadAsync(await client.GetAsync("/api/v1/companies"), HttpStatusCode.Forbidden))
            .Type.ShouldEndWith("/org_suspended");
        (await CountAsync(
            $"SELECT count(*) FROM organizations WHERE id = '{organization.Id}' AND status = 'suspended' AND suspended_at IS NOT NULL"))
            .ShouldBe(1);

        var resumed = await admin.PostAsync($"/api/v1/admin/organizations/{organization.Id}/resume", null);
        (await resumed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString().ShouldBe("active");
        (await client.GetAsync("/api/v1/companies")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Problem.ReadAsync(await admin.PostAsync($"/api/v1/admin/organizations/{Guid.NewGuid()}/suspend", null),
            HttpStatusCode.NotFound);
        await Problem.ReadAsync(await admin.PostAsync("/api/v1/admin/organizations/not-a-guid/suspend", null), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_accepted_run_that_was_never_queued_is_picked_up_by_the_outbox_sweeper()
    {
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], provision: false);
        await using (var db = await platform.CatalogAsync())
        {
            db.ProvisioningRuns.Add(ProvisioningRun.For(organization.Id, DateTimeOffset.UtcNow.AddSeconds(-10)));
            await db.SaveChangesAsync();
        }

        await WaitForStatusAsync(owner.Id, organization.Slug, "active");
    }

    [Fact]
    public async Task Admins_start_a_fleet_migration_and_follow_it_to_its_report()
    {
        var admin = AdminClient();
        (await Problem.ReadAsync(await admin.PostAsJsonAsync("/api/v1/admin/migrations", new { parallelism = 0 }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("parallelism");
        await Problem.ReadAsync(await _api.ClientFor(Guid.NewGuid()).PostAsJsonAsync("/api/v1/admin/migrations", new { }),
            HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await admin.GetAsync("/api/v1/admin/migrations/999999999"), HttpStatusCode.NotFound);

        var started = await admin.PostAsJsonAsync("/api/v1/admin/migrations", new { parallelism = 2 });
        started.StatusCode.ShouldBe(HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
        var jobId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetString()!;
        started.Headers.Location!.ToString().ShouldBe($"/api/v1/admin/migrations/{jobId}");
        var watch = Stopwatch.StartNew();
        JsonElement status;
        do
        {
            await Task.Delay(200);
            status = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/migrations/{jobId}");
            watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(60), status.ToString());
        }
        while (status.GetProperty("state").GetString() is "enqueued" or "processing");

        status.GetProperty("state").GetString().ShouldBe("succeeded");
        status.GetProperty("report").GetString()!.ShouldContain(CleanCrm.Infrastructure.Tenancy.TenantMigrations.LatestVersion);
    }

    public async Task DisposeAsync() => await _worker.DisposeAsync();

    private HttpClient AdminClient()
    {
        var client = _api.CreateClient();
        client.DefaultRequestHeaders.Authorization =
            new System.Net.Http.Headers.AuthenticationHeaderValue("Dev", $"user={Guid.NewGuid()};admin");
        return client;
    }

    private async Task<JsonElement> WaitForStatusAsync(Guid owner, string slug, string expected)
    {
        var watch = Stopwatch.StartNew();
        var client = _api.ClientFor(owner);
        while (true)
        {
            var status = await client.GetFromJsonAsync<JsonElement>($"/api/v1/orgs/{slug}/provisioning");
            if (status.GetProperty("status").GetString() == expected)
            {
                return status;
            }

            watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(30), $"{slug} stayed {status}");
            await Task.Delay(100);
        }
    }

    private async Task<Guid> OwnerOfAsync(Guid organizationId)
    {
        await using var db = await platform.CatalogAsync();
        return await db.Memberships.Where(m => m.OrganizationId == organizationId && m.Role == OrgRole.Owner).Select(m => m.UserId)
            .SingleAsync();
    }

    private async Task<Organization> OrganizationAsync(Guid organizationId)
    {
        await using var db = await platform.CatalogAsync();
        return await db.Organizations.AsNoTracking().Include(o => o.DatabaseServer).SingleAsync(o => o.Id == organizationId);
    }

    private Task<long> CountAsync(string sql) =>
        TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, platform.CatalogDatabase, sql);

    private static string NewSlug() => "acme-" + Guid.NewGuid().ToString("N")[..12];

    private static Dictionary<string, string> SignupBody(string slug) => new()
    {
        ["organizationName"] = "Acme " + slug,
        ["slug"] = slug,
        ["ownerEmail"] = $"owner-{slug}@example.com",
        ["ownerName"] = "Ada Owner",
        ["ownerPassword"] = "correct horse battery staple",
        ["plan"] = "free",
    };
}
