using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Crm;

/// <summary>The companies/contacts contract of docs/API.md with good and bad input, checked against the tenant's rows.</summary>
[Collection(PlatformCollection.Name)]
public sealed class CompaniesAndContactsApiTests(SharedPlatform platform) : IAsyncLifetime
{
    private ApiFactory _api = null!;
    private HttpClient _owner = null!;
    private HttpClient _reader = null!;
    private HttpClient _auditor = null!;
    private Organization _org = null!;
    private UserAccount _ownerUser = null!;

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        _ownerUser = await platform.CreateUserAsync();
        var reader = await platform.CreateUserAsync();
        var auditor = await platform.CreateUserAsync();
        _org = await platform.CreateOrganizationAsync(
            members: [(_ownerUser, OrgRole.Owner), (reader, OrgRole.Readonly), (auditor, OrgRole.Auditor)]);
        _owner = _api.ClientFor(_ownerUser.Id, _org.Slug);
        _reader = _api.ClientFor(reader.Id, _org.Slug);
        _auditor = _api.ClientFor(auditor.Id, _org.Slug);
    }

    [Fact]
    public async Task Create_returns_201_with_location_etag_and_body_and_get_returns_the_same_etag()
    {
        var response = await _owner.PostAsJsonAsync("/api/v1/companies", new
        {
            name = "Acme",
            domain = "acme.example.com",
            industry = "Manufacturing",
            employeeCount = 120,
            annualRevenue = 1_250_000_00L,
            currency = "EUR",
            ownerId = _ownerUser.Id,
            customFields = new { tier = "gold", seats = 12 },
        });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        response.Headers.ETag.ShouldNotBeNull();
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("id").GetGuid();
        response.Headers.Location!.ToString().ShouldBe($"/api/v1/companies/{id}");
        created.GetProperty("annualRevenue").GetInt64().ShouldBe(125_000_000);
        created.GetProperty("customFields").GetProperty("tier").GetString().ShouldBe("gold");
        created.GetProperty("createdAt").GetString()!.ShouldEndWith("Z");

        var fetched = await _owner.GetAsync($"/api/v1/companies/{id}");
        fetched.Headers.ETag!.Tag.ShouldBe(response.Headers.ETag.Tag);
        (await PlatformEnvironment.CountRowsAsync(
            _org, $"SELECT count(*) FROM companies WHERE id = '{id}' AND owner_id = '{_ownerUser.Id}' AND currency = 'EUR'")).ShouldBe(1);
    }

    [Theory]
    [InlineData("{\"name\":\"\"}", "name")]
    [InlineData("{\"name\":\"A\",\"currency\":\"EURO\",\"annualRevenue\":5}", "currency")]
    [InlineData("{\"name\":\"A\",\"annualRevenue\":-1,\"currency\":\"USD\"}", "annualRevenue")]
    [InlineData("{\"name\":\"A\",\"annualRevenue\":100}", "currency")]
    [InlineData("{\"name\":\"A\",\"domain\":\"https://acme.com/x\"}", "domain")]
    [InlineData("{\"name\":\"A\",\"employeeCount\":-5}", "employeeCount")]
    [InlineData("{\"name\":\"A\",\"customFields\":{\"nested\":{\"a\":1}}}", "customFields")]
    [InlineData("{\"name\":\"A\",\"customFields\":{\"bad key\":1}}", "customFields")]
    [InlineData("{\"name\":\"A\",\"ownerId\":\"00000000-0000-0000-0000-000000000000\"}", "ownerId")]
    public async Task Invalid_company_input_is_a_400_naming_the_field_and_nothing_is_written(string body, string field)
    {
        var before = await PlatformEnvironment.CountRowsAsync(_org, "SELECT count(*) FROM companies");
        var problem = await Problem.ReadAsync(await _owner.PostAsync("/api/v1/companies", Json(body)), HttpStatusCode.BadRequest);
        problem.Errors.ShouldNotBeNull();
        problem.Errors.ShouldContainKey(field);
        problem.Detail.ShouldContain(field);
        (await PlatformEnvironment.CountRowsAsync(_org, "SELECT count(*) FROM companies")).ShouldBe(before);
    }

    [Fact]
    public async Task Over_long_names_and_unknown_owners_are_refused_with_clear_messages()
    {
        var tooLong = await Problem.ReadAsync(await _owner.PostAsJsonAsync("/api/v1/companies", new { name = new string('x', 201) }),
            HttpStatusCode.BadRequest);
        tooLong.Errors!["name"].ShouldContain(m => m.Contains("200"));
        var unknownOwner = await Problem.ReadAsync(
            await _owner.PostAsJsonAsync("/api/v1/companies", new { name = "X", ownerId = Guid.NewGuid() }), HttpStatusCode.BadRequest);
        unknownOwner.Errors!.ShouldContainKey("ownerId");
    }

    [Fact]
    public async Task A_domain_is_unique_among_live_companies_and_free_again_after_delete()
    {
        var first = await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = "One", domain = "dup.example.com" });
        var conflict = await Problem.ReadAsync(
            await _owner.PostAsJsonAsync("/api/v1/companies", new { name = "Two", domain = "dup.example.com" }), HttpStatusCode.Conflict);
        conflict.Type.ShouldEndWith("/duplicate_value");
        (await _owner.DeleteAsync($"/api/v1/companies/{first}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await _owner.PostAsJsonAsync("/api/v1/companies", new { name = "Two", domain = "dup.example.com" }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        (await PlatformEnvironment.CountRowsAsync(_org, "SELECT count(*) FROM companies WHERE domain = 'dup.example.com'")).ShouldBe(2);
        (await _owner.GetAsync($"/api/v1/companies/{first}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Patch_is_a_json_merge_patch_and_a_stale_if_match_is_a_412()
    {
        var created = await _owner.PostAsJsonAsync(
            "/api/v1/companies", new { name = "Patchable", industry = "Retail", customFields = new { a = 1, b = 2 } });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var etag = created.Headers.ETag!.Tag;

        var patch = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/companies/{id}")
        {
            Content = new StringContent(
            "{\"industry\":null,\"customFields\":{\"b\":null,\"c\":3}}", Encoding.UTF8, "application/merge-patch+json")
        };
        patch.Headers.IfMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue(etag));
        var patched = await _owner.SendAsync(patch);
        patched.StatusCode.ShouldBe(HttpStatusCode.OK, await patched.Content.ReadAsStringAsync());
        var body = await patched.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("name").GetString().ShouldBe("Patchable");
        body.GetProperty("industry").ValueKind.ShouldBe(JsonValueKind.Null);
        body.GetProperty("customFields").EnumerateObject().Select(p => p.Name).OrderBy(n => n).ShouldBe(["a", "c"]);
        patched.Headers.ETag!.Tag.ShouldNotBe(etag);

        var stale = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/companies/{id}") { Content = Json("{\"name\":\"Lost update\"}") };
        stale.Headers.IfMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue(etag));
        var problem = await Problem.ReadAsync(await _owner.SendAsync(stale), HttpStatusCode.PreconditionFailed);
        problem.Detail.ShouldBe($"Company '{id}' was changed by someone else since you read it; fetch it again and retry.");
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM companies WHERE id = '{id}' AND name = 'Patchable'"))
            .ShouldBe(1);
    }

    [Fact]
    public async Task Two_concurrent_patches_with_the_same_etag_let_exactly_one_win()
    {
        var created = await _owner.PostAsJsonAsync("/api/v1/companies", new { name = "Contended" });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var etag = created.Headers.ETag!.Tag;
        HttpRequestMessage Patch(string name)
        {
            var request =
                new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/companies/{id}") { Content = Json($"{{\"name\":\"{name}\"}}") };
            request.Headers.IfMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue(etag));
            return request;
        }

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => _owner.SendAsync(Patch($"Writer {i}"))));
        responses.Count(r => r.StatusCode == HttpStatusCode.OK).ShouldBe(1);
        responses.Count(r => r.StatusCode == HttpStatusCode.PreconditionFailed).ShouldBe(5);
        var winner = await responses.Single(r => r.StatusCode == HttpStatusCode.OK).Content.ReadFromJsonAsync<JsonElement>();
        (await PlatformEnvironment.CountRowsAsync(
            _org, $"SELECT count(*) FROM companies WHERE id = '{id}' AND name = '{winner.GetProperty("name").GetString()}'")).ShouldBe(1);
    }

    [Fact]
    public async Task Patch_with_unknown_fields_wrong_types_or_a_malformed_if_match_is_refused()
    {
        var id = await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = "Strict" });
        var unknown = await Problem.ReadAsync(await _owner.PatchAsync($"/api/v1/companies/{id}", Json("{\"colour\":\"red\"}")),
            HttpStatusCode.BadRequest);
        unknown.Detail.ShouldContain("colour");
        var wrongType = await Problem.ReadAsync(await _owner.PatchAsync($"/api/v1/companies/{id}", Json("{\"employeeCount\":\"many\"}")),
            HttpStatusCode.BadRequest);
        wrongType.Errors!.ShouldContainKey("employeeCount");
        var notObject =
            await Problem.ReadAsync(await _owner.PatchAsync($"/api/v1/companies/{id}", Json("[1,2]")), HttpStatusCode.BadRequest);
        notObject.Detail.ShouldContain("object");
        var badIfMatch = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/companies/{id}") { Content = Json("{\"name\":\"x\"}") };
        badIfMatch.Headers.TryAddWithoutValidation("If-Match", "not-an-etag");
        await Problem.ReadAsync(await _owner.SendAsync(badIfMatch), HttpStatusCode.BadRequest);
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM companies WHERE id = '{id}' AND name = 'Strict'"))
            .ShouldBe(1);
    }

    [Fact]
    public async Task Lists_page_with_stable_cursors_and_refuse_bad_limits_sorts_and_cursors()
    {
        var org = await platform.CreateOrganizationAsync(members: [(_ownerUser, OrgRole.Owner)]);
        var client = _api.ClientFor(_ownerUser.Id, org.Slug);
        var names = Enumerable.Range(0, 7).Select(i => $"Firm {i:00}").ToList();
        foreach (var name in names.AsEnumerable().Reverse())
        {
            await OrgScopedEndpoints.CreateAsync(client, "companies", new { name });
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>(
                $"/api/v1/companies?limit=3&sort=name{(cursor is null ? "" : "&cursor=" + cursor)}");
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("name").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        seen.ShouldBe(names);

        var descending = await client.GetFromJsonAsync<JsonElement>("/api/v1/companies?limit=2&sort=-name");
        descending.GetProperty("items")[0].GetProperty("name").GetString().ShouldBe("Firm 06");

        (await Problem.ReadAsync(await client.GetAsync("/api/v1/companies?limit=201"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("limit");
        (await Problem.ReadAsync(await client.GetAsync("/api/v1/companies?limit=0"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("limit");
        (await Problem.ReadAsync(await client.GetAsync("/api/v1/companies?sort=secret"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("sort");
        (await Problem.ReadAsync(await client.GetAsync("/api/v1/companies?cursor=garbage!!"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("cursor");
        var nameCursor = (await client.GetFromJsonAsync<JsonElement>("/api/v1/companies?limit=1&sort=name")).GetProperty("nextCursor")
            .GetString();
        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/companies?sort=createdAt&cursor={nameCursor}"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("cursor");
    }

    [Fact]
    public async Task Full_text_search_and_filters_narrow_the_list()
    {
        var org = await platform.CreateOrganizationAsync(members: [(_ownerUser, OrgRole.Owner)]);
        var client = _api.ClientFor(_ownerUser.Id, org.Slug);
        var globex = await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Globex Corporation", industry = "Energy" });
        await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Initech", industry = "Software" });
        await OrgScopedEndpoints.CreateAsync(
            client, "contacts", new { firstName = "Hank", lastName = "Scorpio", email = "HANK@Globex.example.com", companyId = globex });
        await OrgScopedEndpoints.CreateAsync(client, "contacts", new { firstName = "Peter", lastName = "Gibbons" });

        var search = await client.GetFromJsonAsync<JsonElement>("/api/v1/companies?q=globex");
        search.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid()).ShouldBe([globex]);
        var byIndustry = await client.GetFromJsonAsync<JsonElement>("/api/v1/companies?industry=Software");
        byIndustry.GetProperty("items").GetArrayLength().ShouldBe(1);
        var contacts = await client.GetFromJsonAsync<JsonElement>($"/api/v1/contacts?companyId={globex}");
        contacts.GetProperty("items").EnumerateArray().Single().GetProperty("email").GetString().ShouldBe("hank@globex.example.com");
        var contactSearch = await client.GetFromJsonAsync<JsonElement>("/api/v1/contacts?q=gibbons");
        contactSearch.GetProperty("items").EnumerateArray().Single().GetProperty("firstName").GetString().ShouldBe("Peter");
    }

    [Fact]
    public async Task Contact_emails_are_unique_case_insensitively_and_validated()
    {
        await OrgScopedEndpoints.CreateAsync(_owner, "contacts", new { firstName = "Grace", email = "grace@example.com" });
        var duplicate = await Problem.ReadAsync(await _owner.PostAsJsonAsync(
            "/api/v1/contacts", new { firstName = "Other", email = "GRACE@example.com" }), HttpStatusCode.Conflict);
        duplicate.Errors!.ShouldContainKey("email");
        var invalid = await Problem.ReadAsync(
            await _owner.PostAsJsonAsync("/api/v1/contacts", new { firstName = "X", email = "not-an-email" }), HttpStatusCode.BadRequest);
        invalid.Errors!.ShouldContainKey("email");
        var empty = await Problem.ReadAsync(await _owner.PostAsJsonAsync("/api/v1/contacts", new { phone = "+1 555 0100" }),
            HttpStatusCode.BadRequest);
        empty.Errors!.ShouldContainKey("firstName");
        var phone = await Problem.ReadAsync(
            await _owner.PostAsJsonAsync("/api/v1/contacts", new { firstName = "X", phone = "call me maybe" }), HttpStatusCode.BadRequest);
        phone.Errors!.ShouldContainKey("phone");
        (await PlatformEnvironment.CountRowsAsync(_org, "SELECT count(*) FROM contacts WHERE lower(email) = 'grace@example.com'"))
            .ShouldBe(1);
    }

    [Fact]
    public async Task A_company_with_live_contacts_cannot_be_referenced_after_delete()
    {
        var company = await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = "Gone Soon" });
        (await _owner.DeleteAsync($"/api/v1/companies/{company}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var problem = await Problem.ReadAsync(
            await _owner.PostAsJsonAsync("/api/v1/contacts", new { firstName = "Late", companyId = company }), HttpStatusCode.BadRequest);
        problem.Errors!.ShouldContainKey("companyId");
        (await PlatformEnvironment.CountRowsAsync(
            _org, $"SELECT count(*) FROM companies WHERE id = '{company}' AND deleted_at IS NOT NULL")).ShouldBe(1);
    }

    [Fact]
    public async Task Readonly_members_read_but_cannot_write_and_auditors_see_no_crm_data()
    {
        var id = await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = "Visible" });
        (await _reader.GetAsync($"/api/v1/companies/{id}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Problem.ReadAsync(await _reader.PostAsJsonAsync("/api/v1/companies", new { name = "Nope" }), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await _reader.DeleteAsync($"/api/v1/companies/{id}"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await _auditor.GetAsync($"/api/v1/companies/{id}"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await _auditor.GetAsync("/api/v1/contacts"), HttpStatusCode.Forbidden);
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM companies WHERE id = '{id}' AND deleted_at IS NULL"))
            .ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(_org, "SELECT count(*) FROM companies WHERE name = 'Nope'")).ShouldBe(0);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
