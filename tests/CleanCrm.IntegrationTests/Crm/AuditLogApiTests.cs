using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Crm;

/// <summary>Every write appends to the audit log in its own transaction; owners, admins and auditors read it.</summary>
[Collection(PlatformCollection.Name)]
public sealed class AuditLogApiTests(SharedPlatform platform) : IAsyncLifetime
{
    private ApiFactory _api = null!;
    private HttpClient _owner = null!;
    private HttpClient _auditor = null!;
    private HttpClient _member = null!;
    private Organization _org = null!;
    private UserAccount _ownerUser = null!;

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        _ownerUser = await platform.CreateUserAsync();
        var auditor = await platform.CreateUserAsync();
        var member = await platform.CreateUserAsync();
        _org = await platform.CreateOrganizationAsync(
            members: [(_ownerUser, OrgRole.Owner), (auditor, OrgRole.Auditor), (member, OrgRole.Member)]);
        _owner = _api.ClientFor(_ownerUser.Id, _org.Slug);
        _auditor = _api.ClientFor(auditor.Id, _org.Slug);
        _member = _api.ClientFor(member.Id, _org.Slug);
    }

    [Fact]
    public async Task Company_writes_are_logged_with_actor_changed_fields_and_the_request_trace_id()
    {
        var id = await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = "Audited", industry = "Retail" });
        var patch = await _owner.PatchAsync($"/api/v1/companies/{id}", Json("{\"industry\":\"Energy\"}"));
        patch.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await _owner.DeleteAsync($"/api/v1/companies/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var log = await _auditor.GetFromJsonAsync<JsonElement>($"/api/v1/audit-log?entityType=company&entityId={id}&sort=occurredAt");
        var entries = log.GetProperty("items").EnumerateArray().ToList();
        entries.Select(e => e.GetProperty("action").GetString()).ShouldBe(["created", "updated", "deleted"]);
        entries.ShouldAllBe(e => e.GetProperty("actorId").GetGuid() == _ownerUser.Id);
        entries[0].GetProperty("changes").GetProperty("name").GetString().ShouldBe("Audited");
        var industry = entries[1].GetProperty("changes").GetProperty("industry");
        industry.GetProperty("from").GetString().ShouldBe("Retail");
        industry.GetProperty("to").GetString().ShouldBe("Energy");
        entries[1].GetProperty("changes").EnumerateObject().Select(p => p.Name).ShouldBe(["industry"]);
        entries.ShouldAllBe(e => e.GetProperty("correlationId").GetString()!.Length == 32);
        entries.Select(e => e.GetProperty("correlationId").GetString()).Distinct().Count().ShouldBe(3);

        // The correlation id is the W3C trace id of the request, so a caller's traceparent finds its writes.
        var traceId = Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
        var traced = new HttpRequestMessage(HttpMethod.Post, "/api/v1/companies") { Content = Json("{\"name\":\"Traced\"}") };
        traced.Headers.Add("traceparent", $"00-{traceId}-0123456789abcdef-01");
        (await _owner.SendAsync(traced)).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await _auditor.GetFromJsonAsync<JsonElement>($"/api/v1/audit-log?correlationId={traceId}")).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("changes").GetProperty("name").GetString()).ShouldBe(["Traced"]);
    }

    [Fact]
    public async Task A_refused_write_leaves_no_audit_row_because_both_share_one_transaction()
    {
        await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = "One", domain = "one.example.com" });
        var before = await PlatformEnvironment.CountRowsAsync(_org, "SELECT count(*) FROM audit_log");
        await Problem.ReadAsync(await _owner.PostAsJsonAsync("/api/v1/companies", new { name = "Two", domain = "one.example.com" }),
            HttpStatusCode.Conflict);
        var contact = await OrgScopedEndpoints.CreateAsync(_owner, "contacts", new { firstName = "Solo", email = "solo@example.com" });
        var other = await OrgScopedEndpoints.CreateAsync(_owner, "contacts", new { firstName = "Duo", email = "duo@example.com" });
        await Problem.ReadAsync(await _owner.PatchAsync($"/api/v1/contacts/{other}", Json("{\"email\":\"solo@example.com\"}")),
            HttpStatusCode.Conflict);
        (await PlatformEnvironment.CountRowsAsync(_org, "SELECT count(*) FROM audit_log")).ShouldBe(before + 2);
        (await PlatformEnvironment.CountRowsAsync(
            _org, $"SELECT count(*) FROM audit_log WHERE entity_id IN ('{contact}', '{other}') AND action = 'created'")).ShouldBe(2);
    }

    [Fact]
    public async Task The_log_filters_pages_and_is_for_owners_admins_and_auditors_only()
    {
        for (var i = 0; i < 5; i++)
        {
            await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = $"Firm {i}" });
        }

        await OrgScopedEndpoints.CreateAsync(_member, "notes",
            new { body = "by member", companyId = await OrgScopedEndpoints.CreateAsync(_member, "companies", new { name = "Member's" }) });

        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await _auditor.GetFromJsonAsync<JsonElement>(
                $"/api/v1/audit-log?limit=2&entityType=company&action=created{(cursor is null ? "" : "&cursor=" + cursor)}");
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetGuid()));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        seen.Count.ShouldBe(6);
        seen.Distinct().Count().ShouldBe(6);

        var memberId = (await _member.GetFromJsonAsync<JsonElement>("/api/v1/me")).GetProperty("id").GetGuid();
        var byMember = await _owner.GetFromJsonAsync<JsonElement>($"/api/v1/audit-log?actorId={memberId}");
        byMember.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("entityType").GetString()).Order()
            .ShouldBe(["company", "note"]);
        (await _owner.GetFromJsonAsync<JsonElement>("/api/v1/audit-log?from=2100-01-01T00:00:00Z")).GetProperty("items").GetArrayLength()
            .ShouldBe(0);

        await Problem.ReadAsync(await _member.GetAsync("/api/v1/audit-log"), HttpStatusCode.Forbidden);
        (await Problem.ReadAsync(await _auditor.GetAsync("/api/v1/audit-log?limit=500"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("limit");
        (await Problem.ReadAsync(await _auditor.GetAsync("/api/v1/audit-log?cursor=zzz"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("cursor");
        (await Problem.ReadAsync(await _auditor.GetAsync("/api/v1/audit-log?sort=actorId"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("sort");
        (await Problem.ReadAsync(await _auditor.GetAsync("/api/v1/audit-log?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("to");
        await Problem.ReadAsync(await _auditor.GetAsync("/api/v1/audit-log?entityId=nope"), HttpStatusCode.BadRequest);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
