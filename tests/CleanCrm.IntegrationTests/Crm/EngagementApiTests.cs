using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Crm;

/// <summary>
/// Activities, tasks, notes, meetings, calendar events and tags share the record contract of docs/API.md; each behaviour is run
/// against every one of them, then the resource-specific rules are checked.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class EngagementApiTests(SharedPlatform platform) : IAsyncLifetime
{
    private ApiFactory _api = null!;
    private HttpClient _owner = null!;
    private HttpClient _reader = null!;
    private Organization _org = null!;
    private UserAccount _ownerUser = null!;
    private Guid _company;

    public static TheoryData<string> Resources => ["activities", "tasks", "notes", "meetings", "calendar-events", "tags"];

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        _ownerUser = await platform.CreateUserAsync();
        var reader = await platform.CreateUserAsync();
        _org = await platform.CreateOrganizationAsync(members: [(_ownerUser, OrgRole.Owner), (reader, OrgRole.Readonly)]);
        _owner = _api.ClientFor(_ownerUser.Id, _org.Slug);
        _reader = _api.ClientFor(reader.Id, _org.Slug);
        _company = await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = "Hooli" });
    }

    [Theory]
    [MemberData(nameof(Resources))]
    public async Task Create_get_patch_and_delete_follow_the_contract(string resource)
    {
        var created = await _owner.PostAsync($"/api/v1/{resource}", Json(ValidBody(resource, "First")));
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        created.Headers.Location!.ToString().ShouldBe($"/api/v1/{resource}/{id}");
        var etag = created.Headers.ETag!.Tag;
        (await _owner.GetAsync($"/api/v1/{resource}/{id}")).Headers.ETag!.Tag.ShouldBe(etag);

        var patch = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/{resource}/{id}")
        {
            Content = new StringContent(PatchBody(resource), Encoding.UTF8, "application/merge-patch+json")
        };
        patch.Headers.IfMatch.Add(new EntityTagHeaderValue(etag));
        var patched = await _owner.SendAsync(patch);
        patched.StatusCode.ShouldBe(HttpStatusCode.OK, await patched.Content.ReadAsStringAsync());
        patched.Headers.ETag!.Tag.ShouldNotBe(etag);

        var stale = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/{resource}/{id}") { Content = Json(PatchBody(resource)) };
        stale.Headers.IfMatch.Add(new EntityTagHeaderValue(etag));
        await Problem.ReadAsync(await _owner.SendAsync(stale), HttpStatusCode.PreconditionFailed);
        var staleDelete = new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/{resource}/{id}");
        staleDelete.Headers.IfMatch.Add(new EntityTagHeaderValue(etag));
        await Problem.ReadAsync(await _owner.SendAsync(staleDelete), HttpStatusCode.PreconditionFailed);

        await Problem.ReadAsync(await _reader.DeleteAsync($"/api/v1/{resource}/{id}"), HttpStatusCode.Forbidden);
        (await _owner.DeleteAsync($"/api/v1/{resource}/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await Problem.ReadAsync(await _owner.GetAsync($"/api/v1/{resource}/{id}"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await _owner.PatchAsync($"/api/v1/{resource}/{id}", Json(PatchBody(resource))), HttpStatusCode.NotFound);
        var table = resource.Replace('-', '_');
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM {table} WHERE id = '{id}' AND deleted_at IS NOT NULL"))
            .ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM audit_log WHERE entity_id = '{id}'")).ShouldBe(3);
    }

    [Theory]
    [MemberData(nameof(Resources))]
    public async Task Two_concurrent_patches_with_the_same_etag_let_exactly_one_win(string resource)
    {
        var created = await _owner.PostAsync($"/api/v1/{resource}", Json(ValidBody(resource, "Contended")));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var etag = created.Headers.ETag!.Tag;
        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/{resource}/{id}") { Content = Json(PatchBody(resource, i)) };
            request.Headers.IfMatch.Add(new EntityTagHeaderValue(etag));
            return _owner.SendAsync(request);
        }));
        responses.Count(r => r.StatusCode == HttpStatusCode.OK).ShouldBe(1);
        responses.Count(r => r.StatusCode == HttpStatusCode.PreconditionFailed).ShouldBe(4);
    }

    [Theory]
    [MemberData(nameof(Resources))]
    public async Task Unknown_fields_wrong_types_and_non_objects_are_refused(string resource)
    {
        var table = resource.Replace('-', '_');
        var before = await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM {table}");
        var unknown = ValidBody(resource, "X").TrimEnd('}') + ",\"colour\":\"red\"}";
        (await Problem.ReadAsync(await _owner.PostAsync($"/api/v1/{resource}", Json(unknown)), HttpStatusCode.BadRequest))
            .Detail.ShouldContain("colour");
        await Problem.ReadAsync(await _owner.PostAsync($"/api/v1/{resource}", Json("[1]")), HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await _owner.PostAsync($"/api/v1/{resource}", Json("{\"title\":")), HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await _owner.PostAsync($"/api/v1/{resource}", Json("{}")), HttpStatusCode.BadRequest);
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM {table}")).ShouldBe(before);

        var id =
            await OrgScopedEndpoints.CreateAsync(_owner, resource, JsonSerializer.Deserialize<JsonElement>(ValidBody(resource, "Strict")));
        (await Problem.ReadAsync(await _owner.PatchAsync($"/api/v1/{resource}/{id}", Json("{\"colour\":\"red\"}")),
            HttpStatusCode.BadRequest)).Detail.ShouldContain("colour");
        await Problem.ReadAsync(await _owner.PatchAsync($"/api/v1/{resource}/{id}", Json("\"text\"")), HttpStatusCode.BadRequest);
        var badIfMatch = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/{resource}/{id}") { Content = Json(PatchBody(resource)) };
        badIfMatch.Headers.TryAddWithoutValidation("If-Match", "yesterday");
        await Problem.ReadAsync(await _owner.SendAsync(badIfMatch), HttpStatusCode.BadRequest);
    }

    [Theory]
    [MemberData(nameof(Resources))]
    public async Task Lists_page_with_cursors_and_refuse_bad_limits_sorts_and_cursors(string resource)
    {
        var org = await platform.CreateOrganizationAsync(members: [(_ownerUser, OrgRole.Owner)]);
        var client = _api.ClientFor(_ownerUser.Id, org.Slug);
        var company = await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Pager" });
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await OrgScopedEndpoints.CreateAsync(
                client, resource, JsonSerializer.Deserialize<JsonElement>(ValidBody(resource, $"Item {i}", company))));
        }

        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var response = await client.GetAsync($"/api/v1/{resource}?limit=2&sort=createdAt{(cursor is null ? "" : "&cursor=" + cursor)}");
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var page = await response.Content.ReadFromJsonAsync<JsonElement>();
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        seen.ShouldBe(ids);

        var search = await client.GetFromJsonAsync<JsonElement>($"/api/v1/{resource}?q=item%203");
        search.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()).ShouldContain(ids[3]);
        search.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()).ShouldNotContain(ids[1]);

        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/{resource}?limit=201"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("limit");
        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/{resource}?limit=-1"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("limit");
        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/{resource}?sort=password"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("sort");
        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/{resource}?cursor=bm9wZQ"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("cursor");
        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/{resource}?q={new string('q', 201)}"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("q");
        await Problem.ReadAsync(await client.GetAsync($"/api/v1/{resource}?limit=99999999999"), HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("notes", "{\"body\":\"orphan\"}", "companyId")]
    [InlineData("tasks", "{\"title\":\"orphan\"}", "companyId")]
    [InlineData("activities", "{\"type\":\"call\"}", "companyId")]
    [InlineData("activities", "{\"type\":\"fax\",\"companyId\":\"{company}\"}", "type")]
    [InlineData("activities", "{\"type\":\"call\",\"source\":\"telepathy\",\"companyId\":\"{company}\"}", "source")]
    [InlineData("activities", "{\"type\":\"call\",\"occurredAt\":\"last week\",\"companyId\":\"{company}\"}", "occurredAt")]
    [InlineData("activities", "{\"type\":\"call\",\"actorId\":\"{random}\",\"companyId\":\"{company}\"}", "actorId")]
    [InlineData("notes", "{\"body\":\"x\",\"contactId\":\"{random}\"}", "contactId")]
    [InlineData("notes", "{\"body\":\"x\",\"dealId\":\"{random}\"}", "dealId")]
    [InlineData("notes", "{\"body\":\"x\",\"companyId\":\"{random}\"}", "companyId")]
    [InlineData("notes", "{\"body\":\"x\",\"pinned\":\"yes\",\"companyId\":\"{company}\"}", "pinned")]
    [InlineData("tasks", "{\"title\":\"x\",\"priority\":\"asap\",\"companyId\":\"{company}\"}", "priority")]
    [InlineData("tasks", "{\"title\":\"x\",\"assigneeId\":\"{random}\",\"companyId\":\"{company}\"}", "assigneeId")]
    [InlineData("tasks", "{\"title\":\"{long}\",\"companyId\":\"{company}\"}", "title")]
    [InlineData("meetings", "{\"title\":\"x\"}", "startsAt")]
    [InlineData("meetings", "{\"title\":\"x\",\"startsAt\":\"2026-03-01T10:00:00Z\",\"endsAt\":\"2026-03-01T09:00:00Z\"}", "endsAt")]
    [InlineData("meetings", "{\"title\":\"x\",\"startsAt\":\"2026-03-01T10:00:00Z\",\"attendees\":[{\"email\":\"not-mail\"}]}",
        "attendees[0].email")]
    [InlineData("meetings",
        "{\"title\":\"x\",\"startsAt\":\"2026-03-01T10:00:00Z\",\"attendees\":[{\"email\":\"a@b.example\",\"contactId\":\"{random}\"}]}",
        "attendees[0].contactId")]
    [InlineData("calendar-events", "{\"title\":\"x\",\"startsAt\":\"2026-03-01T10:00:00Z\",\"meetingId\":\"{random}\"}", "meetingId")]
    [InlineData("calendar-events", "{\"title\":\"x\",\"startsAt\":\"2026-03-01T10:00:00Z\",\"ownerId\":\"{random}\"}", "ownerId")]
    [InlineData("tags", "{\"name\":\"x\",\"color\":\"red\"}", "color")]
    [InlineData("tags", "{\"name\":\"{long}\"}", "name")]
    public async Task Invalid_input_is_a_400_naming_the_field_and_nothing_is_written(string resource, string template, string field)
    {
        var body = template.Replace("{company}", _company.ToString(), StringComparison.Ordinal)
            .Replace("{random}", Guid.NewGuid().ToString(), StringComparison.Ordinal)
            .Replace("{long}", new string('x', 301), StringComparison.Ordinal);
        var table = resource.Replace('-', '_');
        var before = await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM {table}");
        var problem = await Problem.ReadAsync(await _owner.PostAsync($"/api/v1/{resource}", Json(body)), HttpStatusCode.BadRequest);
        ((problem.Errors?.ContainsKey(field) ?? false) || problem.Detail.Contains(field, StringComparison.Ordinal))
            .ShouldBeTrue($"{field}: {problem.Detail} {JsonSerializer.Serialize(problem.Errors)}");
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM {table}")).ShouldBe(before);
    }

    [Fact]
    public async Task Attachments_to_deleted_or_foreign_records_are_400s_and_the_database_refuses_orphans()
    {
        var gone = await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = "Gone" });
        (await _owner.DeleteAsync($"/api/v1/companies/{gone}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await Problem.ReadAsync(await _owner.PostAsJsonAsync("/api/v1/tasks", new { title = "late", companyId = gone }),
            HttpStatusCode.BadRequest)).Detail.ShouldContain("companyId");

        var otherOrg = await platform.CreateOrganizationAsync(members: [(_ownerUser, OrgRole.Owner)]);
        var foreignCompany =
            await OrgScopedEndpoints.CreateAsync(_api.ClientFor(_ownerUser.Id, otherOrg.Slug), "companies", new { name = "Elsewhere" });
        (await Problem.ReadAsync(await _owner.PostAsJsonAsync("/api/v1/notes", new { body = "cross", companyId = foreignCompany }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("companyId");

        var note = await OrgScopedEndpoints.CreateAsync(_owner, "notes", new { body = "anchored", companyId = _company });
        (await Problem.ReadAsync(await _owner.PatchAsync($"/api/v1/notes/{note}", Json("{\"companyId\":null}")), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("companyId");
        await Should.ThrowAsync<Npgsql.PostgresException>(
            () => PlatformEnvironment.CountRowsAsync(_org, $"UPDATE notes SET company_id = NULL WHERE id = '{note}'"));
        await Should.ThrowAsync<Npgsql.PostgresException>(
            () => PlatformEnvironment.CountRowsAsync(_org, $"UPDATE notes SET deal_id = '{Guid.NewGuid()}' WHERE id = '{note}'"));
    }

    [Fact]
    public async Task Completing_a_task_stamps_completed_at_and_reopening_clears_it()
    {
        var id = await OrgScopedEndpoints.CreateAsync(_owner, "tasks", new
        {
            title = "Call back",
            companyId = _company,
            dueAt = "2026-04-01T09:00:00Z",
            assigneeId = _ownerUser.Id,
            priority = "high"
        });
        var done = await (await _owner.PatchAsync($"/api/v1/tasks/{id}", Json("{\"status\":\"done\"}")))
            .Content.ReadFromJsonAsync<JsonElement>();
        done.GetProperty("completedAt").GetString()!.ShouldEndWith("Z");
        var reopened = await (await _owner.PatchAsync($"/api/v1/tasks/{id}", Json("{\"status\":\"in_progress\"}")))
            .Content.ReadFromJsonAsync<JsonElement>();
        reopened.GetProperty("completedAt").ValueKind.ShouldBe(JsonValueKind.Null);
        reopened.GetProperty("status").GetString().ShouldBe("in_progress");
        (await _owner.GetFromJsonAsync<JsonElement>($"/api/v1/tasks?assigneeId={_ownerUser.Id}&status=in_progress&priority=high"))
            .GetProperty("items").GetArrayLength().ShouldBe(1);
        (await _owner.GetFromJsonAsync<JsonElement>("/api/v1/tasks?dueBefore=2026-03-01T00:00:00Z")).GetProperty("items").GetArrayLength()
            .ShouldBe(0);
        (await Problem.ReadAsync(await _owner.GetAsync("/api/v1/tasks?status=someday"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("status");
    }

    [Fact]
    public async Task Meetings_keep_attendees_and_transcripts_and_a_patch_replaces_the_attendee_list()
    {
        var contact = await OrgScopedEndpoints.CreateAsync(
            _owner, "contacts", new { firstName = "Ann", email = "ann@hooli.example.com", companyId = _company });
        var id = await OrgScopedEndpoints.CreateAsync(_owner, "meetings", new
        {
            title = "Demo",
            startsAt = "2026-05-01T15:00:00Z",
            endsAt = "2026-05-01T16:00:00Z",
            companyId = _company,
            attendees = new object[] { new { email = "ann@hooli.example.com", contactId = contact },
                new { email = "Bob@Hooli.example.com", name = "Bob" } },
            transcript = "Ann: hello",
        });
        var meeting = await _owner.GetFromJsonAsync<JsonElement>($"/api/v1/meetings/{id}");
        meeting.GetProperty("attendees").EnumerateArray().Select(a => a.GetProperty("email").GetString())
            .ShouldBe(["ann@hooli.example.com", "bob@hooli.example.com"]);
        meeting.GetProperty("transcript").GetString().ShouldBe("Ann: hello");
        (await _owner.GetFromJsonAsync<JsonElement>($"/api/v1/meetings?contactId={contact}")).GetProperty("items").GetArrayLength()
            .ShouldBe(1);

        var patched = await _owner.PatchAsync($"/api/v1/meetings/{id}",
            Json("{\"attendees\":[{\"email\":\"carol@hooli.example.com\"}],\"transcript\":null}"));
        patched.StatusCode.ShouldBe(HttpStatusCode.OK, await patched.Content.ReadAsStringAsync());
        var after = await patched.Content.ReadFromJsonAsync<JsonElement>();
        after.GetProperty("attendees").EnumerateArray().Select(a => a.GetProperty("email").GetString())
            .ShouldBe(["carol@hooli.example.com"]);
        after.GetProperty("transcript").ValueKind.ShouldBe(JsonValueKind.Null);
        (await PlatformEnvironment.CountRowsAsync(
            _org, $"SELECT count(*) FROM meeting_attendees WHERE meeting_id = '{id}' AND deleted_at IS NULL")).ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(
            _org, $"SELECT count(*) FROM meeting_transcripts WHERE meeting_id = '{id}' AND deleted_at IS NOT NULL")).ShouldBe(1);
    }

    [Fact]
    public async Task Activities_from_an_integration_are_unique_per_external_id_and_tags_per_name()
    {
        var body = new
        {
            type = "email",
            subject = "Re: pricing",
            source = "integration",
            externalId = "gmail-123",
            companyId = _company,
            occurredAt = "2026-02-01T08:00:00Z"
        };
        await OrgScopedEndpoints.CreateAsync(_owner, "activities", body);
        (await Problem.ReadAsync(await _owner.PostAsJsonAsync("/api/v1/activities", body), HttpStatusCode.Conflict))
            .Errors!.ShouldContainKey("externalId");
        (await _owner.GetFromJsonAsync<JsonElement>("/api/v1/activities?source=integration&occurredAfter=2026-01-31T00:00:00Z"))
            .GetProperty("items").GetArrayLength().ShouldBe(1);

        await OrgScopedEndpoints.CreateAsync(_owner, "tags", new { name = "Hot lead", color = "#FF0000" });
        (await Problem.ReadAsync(await _owner.PostAsJsonAsync("/api/v1/tags", new { name = "hot LEAD" }), HttpStatusCode.Conflict))
            .Errors!.ShouldContainKey("name");
    }

    [Fact]
    public async Task Concurrent_creates_of_one_tag_name_in_two_cases_make_one_tag()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            _owner.PostAsJsonAsync("/api/v1/tags", new { name = i % 2 == 0 ? "Renewal Q3" : "renewal q3" })));
        responses.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(1);
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            (await Problem.ReadAsync(refused, HttpStatusCode.Conflict)).Errors!.ShouldContainKey("name");
        }

        (await PlatformEnvironment.CountRowsAsync(
            _org, "SELECT count(*) FROM tags WHERE lower(name) = 'renewal q3' AND deleted_at IS NULL")).ShouldBe(1);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private string ValidBody(string resource, string text, Guid? company = null)
    {
        var companyId = company ?? _company;
        return resource switch
        {
            "activities" => $"{{\"type\":\"call\",\"subject\":\"{text}\",\"companyId\":\"{companyId}\"}}",
            "tasks" => $"{{\"title\":\"{text}\",\"companyId\":\"{companyId}\"}}",
            "notes" => $"{{\"body\":\"{text}\",\"companyId\":\"{companyId}\"}}",
            "meetings" => $"{{\"title\":\"{text}\",\"startsAt\":\"2026-03-01T10:00:00Z\",\"companyId\":\"{companyId}\"}}",
            "calendar-events" => $"{{\"title\":\"{text}\",\"startsAt\":\"2026-03-01T10:00:00Z\",\"companyId\":\"{companyId}\"}}",
            "tags" => $"{{\"name\":\"{text}\"}}",
            _ => throw new ArgumentOutOfRangeException(nameof(resource)),
        };
    }

    private static string PatchBody(string resource, int variant = 0) => resource switch
    {
        "activities" => $"{{\"subject\":\"Changed {variant}\"}}",
        "tasks" => $"{{\"title\":\"Changed {variant}\"}}",
        "notes" => $"{{\"body\":\"Changed {variant}\",\"pinned\":true}}",
        "meetings" or "calendar-events" => $"{{\"location\":\"Room {variant}\"}}",
        "tags" => $"{{\"name\":\"changed {variant}\"}}",
        _ => throw new ArgumentOutOfRangeException(nameof(resource)),
    };

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
