using System.Net;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Tenancy;

/// <summary>
/// The product's promise: organizations with real separate databases (A and B on the primary server, C and D on the
/// secondary). Every org-scoped endpoint is called across the boundary, and the rows in each database are checked;
/// calls that create records run in D, so A, B and C keep exactly their seeded rows.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class TenantIsolationTests(SharedPlatform platform) : IAsyncLifetime
{
    private ApiFactory _api = null!;
    private UserAccount _ownerA = null!;
    private UserAccount _ownerB = null!;
    private Organization _orgA = null!;
    private Organization _orgB = null!;
    private Organization _orgC = null!;
    private Organization _orgD = null!;
    private Organization _suspended = null!;
    private Organization _pending = null!;
    private Guid _suspendedCompany;
    private Dictionary<(Guid Org, string Resource), Guid> _records = [];

    public async Task InitializeAsync()
    {
        var world = await platform.SharedAsync(nameof(TenantIsolationTests), () => IsolationWorld.CreateAsync(platform));
        (_api, _ownerA, _ownerB, _orgA, _orgB, _orgC, _records) =
            (world.Api, world.OwnerA, world.OwnerB, world.OrgA, world.OrgB, world.OrgC, world.Records);
        _orgD = world.OrgD;
        (_suspended, _pending, _suspendedCompany) = (world.Suspended, world.Pending, world.SuspendedCompany);
    }

    private sealed class IsolationWorld : IDisposable
    {
        public required ApiFactory Api { get; init; }
        public required UserAccount OwnerA { get; init; }
        public required UserAccount OwnerB { get; init; }
        public required Organization OrgA { get; init; }
        public required Organization OrgB { get; init; }
        public required Organization OrgC { get; init; }
        public required Organization OrgD { get; init; }
        public required Organization Suspended { get; init; }
        public required Organization Pending { get; init; }
        public required Guid SuspendedCompany { get; init; }
        public Dictionary<(Guid Org, string Resource), Guid> Records { get; } = [];

        public static async Task<IsolationWorld> CreateAsync(SharedPlatform platform)
        {
            var api = new ApiFactory(platform);
            var ownerA = await platform.CreateUserAsync();
            var ownerB = await platform.CreateUserAsync();
            var orgA = await platform.CreateOrganizationAsync(members: [(ownerA, OrgRole.Owner)], plan: Plan.Pro,
                serverId: platform.PrimaryServer.Id);
            var orgB = await platform.CreateOrganizationAsync(members: [(ownerB, OrgRole.Owner)], plan: Plan.Pro,
                serverId: platform.PrimaryServer.Id);
            var secondary = platform.SecondaryServer.Id;
            var orgC = await platform.CreateOrganizationAsync(members: [(ownerB, OrgRole.Owner)], plan: Plan.Pro, serverId: secondary);
            var orgD = await platform.CreateOrganizationAsync(members: [(ownerA, OrgRole.Owner)], plan: Plan.Pro, serverId: secondary);
            var suspended = await platform.CreateOrganizationAsync(members: [(ownerA, OrgRole.Owner)]);
            var suspendedCompany = await OrgScopedEndpoints.CreateAsync(api.ClientFor(ownerA.Id, suspended.Slug), "companies",
                new { name = "Before suspension" });
            await platform.SetStatusAsync(suspended.Id, OrganizationStatus.Suspended);
            var pending = await platform.CreateOrganizationAsync(members: [(ownerA, OrgRole.Owner)], provision: false);
            var world = new IsolationWorld
            {
                Api = api,
                OwnerA = ownerA,
                OwnerB = ownerB,
                OrgA = orgA,
                OrgB = orgB,
                OrgC = orgC,
                OrgD = orgD,
                Suspended = suspended,
                Pending = pending,
                SuspendedCompany = suspendedCompany,
            };
            foreach (var (org, owner) in new[] { (orgA, ownerA), (orgB, ownerB), (orgC, ownerB), (orgD, ownerA) })
            {
                var client = api.ClientFor(owner.Id, org.Slug);
                var companyId = await OrgScopedEndpoints.CreateAsync(
                    client, "companies", new { name = $"Company of {org.Slug}", domain = $"{org.Slug}.example.com" });
                world.Records[(org.Id, "companies")] = companyId;
                world.Records[(org.Id, "contacts")] = await OrgScopedEndpoints.CreateAsync(
                    client, "contacts", new { firstName = "Ada", email = $"ada@{org.Slug}.example.com", companyId });
                world.Records[(org.Id, "deals")] = await OrgScopedEndpoints.CreateAsync(
                    client, "deals", new { name = $"Deal of {org.Slug}", amount = 1000, currency = "EUR", companyId });
                world.Records[(org.Id, "activities")] =
                    await OrgScopedEndpoints.CreateAsync(client, "activities", new { type = "call", subject = "Intro", companyId });
                world.Records[(org.Id, "tasks")] =
                    await OrgScopedEndpoints.CreateAsync(client, "tasks", new { title = "Follow up", companyId });
                world.Records[(org.Id, "notes")] =
                    await OrgScopedEndpoints.CreateAsync(client, "notes", new { body = "Met at the fair", companyId });
                world.Records[(org.Id, "meetings")] = await OrgScopedEndpoints.CreateAsync(
                    client, "meetings", new { title = "Kick-off", startsAt = "2026-03-01T10:00:00Z", companyId });
                world.Records[(org.Id, "calendar-events")] = await OrgScopedEndpoints.CreateAsync(client, "calendar-events",
                    new { title = "Kick-off", startsAt = "2026-03-01T10:00:00Z", companyId });
                world.Records[(org.Id, "tags")] = await OrgScopedEndpoints.CreateAsync(client, "tags", new { name = "vip" });
                world.Records[(org.Id, "workflows")] = await OrgScopedEndpoints.CreateAsync(client, "workflows",
                    System.Text.Json.JsonDocument.Parse(OrgScopedEndpoints.WorkflowBody).RootElement);
                world.Records[(org.Id, "imports")] = await OrgScopedEndpoints.StartImportAsync(client);
            }

            return world;
        }

        public void Dispose() => Api.Dispose();
    }

    [Fact]
    public async Task Organizations_live_in_separate_databases_each_holding_only_its_own_rows()
    {
        _orgA.DatabaseName.ShouldNotBe(_orgB.DatabaseName);
        foreach (var org in new[] { _orgA, _orgB, _orgC })
        {
            (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM companies")).ShouldBe(1);
            (await PlatformEnvironment.CountRowsAsync(org, $"SELECT count(*) FROM companies WHERE domain = '{org.Slug}.example.com'"))
                .ShouldBe(1);
            (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM contacts")).ShouldBe(1);
        }

        _orgC.DatabaseServerId.ShouldBe(platform.SecondaryServer.Id);
        _orgC.DatabaseServer!.Port.ShouldNotBe(_orgA.DatabaseServer!.Port);
    }

    /// <summary>The org-scoped calls that name one record by id.</summary>
    public static TheoryData<string> CallsOnOneRecord() => CallNames(call => call.TargetsOneRecord());

    /// <summary>The org-scoped calls without a record id: lists, creates, the audit log and starting an import.</summary>
    public static TheoryData<string> CallsWithoutARecordId() => CallNames(call => !call.TargetsOneRecord());

    private static TheoryData<string> CallNames(Func<OrgScopedEndpoints.Call, bool> include) =>
        [.. OrgScopedEndpoints.All.Where(include).Select(call => call.Name)];

    [Theory]
    [MemberData(nameof(CallsOnOneRecord))]
    public async Task Another_orgs_record_id_is_not_found_and_stays_untouched(string endpoint)
    {
        var call = OrgScopedEndpoints.Named(endpoint);
        var resource = call.Resource();
        var table = call.Table();
        foreach (var (victim, server) in new[] { (_orgB, "same server"), (_orgC, "other server") })
        {
            var foreignId = _records[(victim.Id, resource)];
            var response = await _api.ClientFor(_ownerA.Id, _orgA.Slug).SendAsync(call.Request(foreignId));
            var problem = await Problem.ReadAsync(response, HttpStatusCode.NotFound);
            problem.Detail.ShouldContain(foreignId.ToString(), customMessage: server);
            (await PlatformEnvironment.CountRowsAsync(
                victim, $"SELECT count(*) FROM {table} WHERE id = '{foreignId}' AND deleted_at IS NULL")).ShouldBe(1);
            (await PlatformEnvironment.CountRowsAsync(victim, $"SELECT count(*) FROM {table} WHERE updated_at <> created_at")).ShouldBe(0);
        }
    }

    [Theory]
    [MemberData(nameof(CallsWithoutARecordId))]
    public async Task A_call_without_a_record_id_reads_and_writes_only_the_callers_database(string endpoint)
    {
        var call = OrgScopedEndpoints.Named(endpoint);
        var count = $"SELECT count(*) FROM {call.Table()}";
        Organization[] others = [_orgA, _orgB, _orgC];
        var othersBefore = await Task.WhenAll(others.Select(org => PlatformEnvironment.CountRowsAsync(org, count)));
        var ownBefore = await PlatformEnvironment.CountRowsAsync(_orgD, count);

        var response = await _api.ClientFor(_ownerA.Id, _orgD.Slug).SendAsync(call.Request(Guid.NewGuid()));
        var body = await response.Content.ReadAsStringAsync();

        foreach (var ((org, resource), id) in _records.Where(record => record.Key.Org != _orgD.Id))
        {
            body.ShouldNotContain(id.ToString(), customMessage: $"the {resource} of org {org} leaked into org D's answer");
        }

        if (call.Method == HttpMethod.Get)
        {
            response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
            if (_records.TryGetValue((_orgD.Id, call.Resource()), out var own))
            {
                body.ShouldContain(own.ToString());
            }
        }

        (await Task.WhenAll(others.Select(org => PlatformEnvironment.CountRowsAsync(org, count)))).ShouldBe(othersBefore);
        var stored = response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Accepted ? 1 : 0;
        (await PlatformEnvironment.CountRowsAsync(_orgD, count)).ShouldBe(ownBefore + stored, body);
    }

    [Theory]
    [MemberData(nameof(OrgScopedEndpoints.Names), MemberType = typeof(OrgScopedEndpoints))]
    public async Task Naming_an_org_you_are_not_a_member_of_is_not_found_by_slug_or_id(string endpoint)
    {
        var call = OrgScopedEndpoints.Named(endpoint);
        var table = call.Table();
        var before = await PlatformEnvironment.CountRowsAsync(_orgB, $"SELECT count(*) FROM {table}");
        foreach (var header in new[] { _orgB.Slug, _orgB.Id.ToString() })
        {
            var response = await _api.ClientFor(_ownerA.Id, header)
                .SendAsync(call.Request(_records.GetValueOrDefault((_orgB.Id, call.Resource()), Guid.NewGuid())));
            var problem = await Problem.ReadAsync(response, HttpStatusCode.NotFound);
            problem.Detail.ShouldContain(header);
        }

        (await PlatformEnvironment.CountRowsAsync(_orgB, $"SELECT count(*) FROM {table}")).ShouldBe(before);
        (await PlatformEnvironment.CountRowsAsync(_orgB, $"SELECT count(*) FROM {table} WHERE updated_at <> created_at")).ShouldBe(0);
    }

    [Theory]
    [MemberData(nameof(OrgScopedEndpoints.Names), MemberType = typeof(OrgScopedEndpoints))]
    public async Task An_unknown_org_is_indistinguishable_from_a_foreign_one(string endpoint)
    {
        var call = OrgScopedEndpoints.Named(endpoint);
        var unknown = await _api.ClientFor(_ownerA.Id, "no-such-org").SendAsync(call.Request(Guid.NewGuid()));
        var foreign = await _api.ClientFor(_ownerA.Id, _orgB.Slug).SendAsync(call.Request(Guid.NewGuid()));
        var unknownProblem = await Problem.ReadAsync(unknown, HttpStatusCode.NotFound);
        var foreignProblem = await Problem.ReadAsync(foreign, HttpStatusCode.NotFound);
        unknownProblem.Type.ShouldBe(foreignProblem.Type);
        unknownProblem.Title.ShouldBe(foreignProblem.Title);
    }

    [Theory]
    [MemberData(nameof(OrgScopedEndpoints.Names), MemberType = typeof(OrgScopedEndpoints))]
    public async Task An_org_bound_client_naming_another_org_is_forbidden(string endpoint)
    {
        var call = OrgScopedEndpoints.Named(endpoint);
        var table = call.Table();
        var before = await PlatformEnvironment.CountRowsAsync(_orgB, $"SELECT count(*) FROM {table}");
        var client = _api.ClientFor(_ownerA.Id, _orgB.Slug, orgClaim: _orgA.Id, role: "member");
        var problem = await Problem.ReadAsync(await client.SendAsync(
            call.Request(_records.GetValueOrDefault((_orgB.Id, call.Resource()), Guid.NewGuid()))), HttpStatusCode.Forbidden);
        problem.Type.ShouldEndWith("/org_mismatch");
        (await PlatformEnvironment.CountRowsAsync(_orgB, $"SELECT count(*) FROM {table}")).ShouldBe(before);
    }

    [Fact]
    public async Task An_org_bound_client_works_on_its_own_org_with_or_without_the_header()
    {
        var withoutHeader = _api.ClientFor(_ownerA.Id, orgClaim: _orgA.Id, role: "member");
        (await withoutHeader.GetAsync($"/api/v1/companies/{_records[(_orgA.Id, "companies")]}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var withHeader = _api.ClientFor(_ownerA.Id, _orgA.Id.ToString(), orgClaim: _orgA.Id, role: "member");
        (await withHeader.GetAsync($"/api/v1/companies/{_records[(_orgA.Id, "companies")]}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await withHeader.GetAsync($"/api/v1/companies/{_records[(_orgB.Id, "companies")]}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Theory]
    [MemberData(nameof(OrgScopedEndpoints.Names), MemberType = typeof(OrgScopedEndpoints))]
    public async Task Without_an_org_the_request_is_a_400_org_required(string endpoint)
    {
        var call = OrgScopedEndpoints.Named(endpoint);
        var problem =
            await Problem.ReadAsync(await _api.ClientFor(_ownerA.Id).SendAsync(call.Request(Guid.NewGuid())), HttpStatusCode.BadRequest);
        problem.Type.ShouldEndWith("/org_required");
        problem.Detail.ShouldContain("X-Org");
    }

    [Theory]
    [MemberData(nameof(OrgScopedEndpoints.Names), MemberType = typeof(OrgScopedEndpoints))]
    public async Task A_suspended_org_is_refused_with_403_and_its_data_is_untouched(string endpoint)
    {
        var call = OrgScopedEndpoints.Named(endpoint);
        var problem = await Problem.ReadAsync(await _api.ClientFor(_ownerA.Id, _suspended.Slug).SendAsync(call.Request(_suspendedCompany)),
            HttpStatusCode.Forbidden);
        problem.Type.ShouldEndWith("/org_suspended");
        (await PlatformEnvironment.CountRowsAsync(
            _suspended, "SELECT count(*) FROM companies WHERE deleted_at IS NULL AND name = 'Before suspension'")).ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(_suspended, "SELECT count(*) FROM contacts")).ShouldBe(0);
    }

    [Theory]
    [MemberData(nameof(OrgScopedEndpoints.Names), MemberType = typeof(OrgScopedEndpoints))]
    public async Task An_org_that_is_not_active_yet_is_a_409_with_retry_after(string endpoint)
    {
        var call = OrgScopedEndpoints.Named(endpoint);
        var response = await _api.ClientFor(_ownerA.Id, _pending.Slug).SendAsync(call.Request(Guid.NewGuid()));
        response.Headers.RetryAfter.ShouldNotBeNull();
        var problem = await Problem.ReadAsync(response, HttpStatusCode.Conflict);
        problem.Type.ShouldEndWith("/org_not_ready");
    }

    [Fact]
    public async Task A_contact_cannot_reference_a_company_of_another_org()
    {
        var foreignCompany = _records[(_orgB.Id, "companies")];
        var client = _api.ClientFor(_ownerA.Id, _orgA.Slug);
        var response = await client.PostAsync("/api/v1/contacts", new StringContent(
            $"{{\"firstName\":\"Eve\",\"companyId\":\"{foreignCompany}\"}}", System.Text.Encoding.UTF8, "application/json"));
        var problem = await Problem.ReadAsync(response, HttpStatusCode.BadRequest);
        problem.Errors!.ShouldContainKey("companyId");
        (await PlatformEnvironment.CountRowsAsync(_orgA, "SELECT count(*) FROM contacts WHERE first_name = 'Eve'")).ShouldBe(0);
    }

    [Fact]
    public async Task Listing_returns_only_the_callers_org_rows()
    {
        var body = await _api.ClientFor(_ownerB.Id, _orgC.Slug).GetStringAsync("/api/v1/companies");
        body.ShouldContain(_records[(_orgC.Id, "companies")].ToString());
        body.ShouldNotContain(_records[(_orgB.Id, "companies")].ToString());
        body.ShouldNotContain(_records[(_orgA.Id, "companies")].ToString());
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
