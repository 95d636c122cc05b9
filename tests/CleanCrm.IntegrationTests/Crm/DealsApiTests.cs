using System.Buffers.Text;
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
/// Deals (docs/API.md, "Deals: moves, history and splits"): create in the default pipeline, move through stages with history, splits,
/// search and filters.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class DealsApiTests(SharedPlatform platform) : IAsyncLifetime
{
    private ApiFactory _api = null!;
    private HttpClient _owner = null!;
    private Organization _org = null!;
    private UserAccount _ownerUser = null!;
    private UserAccount _seller = null!;
    private Dictionary<string, Guid> _stages = [];
    private Guid _pipeline;

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        _ownerUser = await platform.CreateUserAsync();
        _seller = await platform.CreateUserAsync();
        _org = await platform.CreateOrganizationAsync(members: [(_ownerUser, OrgRole.Owner), (_seller, OrgRole.Member)], plan: Plan.Pro);
        _owner = _api.ClientFor(_ownerUser.Id, _org.Slug);
        var pipeline = (await _owner.GetFromJsonAsync<JsonElement>("/api/v1/pipelines")).GetProperty("items")[0];
        _pipeline = pipeline.GetProperty("id").GetGuid();
        _stages = pipeline.GetProperty("stages").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task A_new_deal_lands_in_the_first_stage_of_the_default_pipeline_with_its_probability()
    {
        var company = await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = "Buyer" });
        var contact = await OrgScopedEndpoints.CreateAsync(_owner, "contacts", new { firstName = "Bea", companyId = company });
        var response = await _owner.PostAsJsonAsync("/api/v1/deals", new
        {
            name = "Fleet renewal",
            amount = 12_500_00L,
            currency = "EUR",
            expectedCloseDate = "2026-12-31",
            companyId = company,
            primaryContactId = contact,
            ownerId = _seller.Id,
        });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var deal = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = deal.GetProperty("id").GetGuid();
        response.Headers.Location!.ToString().ShouldBe($"/api/v1/deals/{id}");
        response.Headers.ETag.ShouldNotBeNull();
        deal.GetProperty("pipelineId").GetGuid().ShouldBe(_pipeline);
        deal.GetProperty("stageId").GetGuid().ShouldBe(_stages["Lead"]);
        deal.GetProperty("probability").GetInt32().ShouldBe(10);
        deal.GetProperty("status").GetString().ShouldBe("open");
        deal.GetProperty("closedAt").ValueKind.ShouldBe(JsonValueKind.Null);
        deal.GetProperty("amount").GetInt64().ShouldBe(1_250_000);
        deal.GetProperty("expectedCloseDate").GetString().ShouldBe("2026-12-31");

        var fetched = await _owner.GetAsync($"/api/v1/deals/{id}");
        fetched.Headers.ETag!.Tag.ShouldBe(response.Headers.ETag.Tag);
        (await PlatformEnvironment.CountRowsAsync(
            _org, $"SELECT count(*) FROM deals WHERE id = '{id}' AND owner_id = '{_seller.Id}' AND currency = 'EUR' AND amount = 1250000"))
            .ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(
            _org, $"SELECT count(*) FROM deal_stage_history WHERE deal_id = '{id}' AND from_stage_id IS NULL")).ShouldBe(1);
    }

    [Theory]
    [InlineData("{\"name\":\"\"}", "name")]
    [InlineData("{\"name\":\"D\",\"amount\":-1,\"currency\":\"USD\"}", "amount")]
    [InlineData("{\"name\":\"D\",\"amount\":100}", "currency")]
    [InlineData("{\"name\":\"D\",\"amount\":100,\"currency\":\"usd\"}", "currency")]
    [InlineData("{\"name\":\"D\",\"amount\":100,\"currency\":\"XYZ\"}", "currency")]
    [InlineData("{\"name\":\"D\",\"amount\":\"100\",\"currency\":\"USD\"}", "amount")]
    [InlineData("{\"name\":\"D\",\"amount\":1.5,\"currency\":\"USD\"}", "amount")]
    [InlineData("{\"name\":\"D\",\"probability\":101}", "probability")]
    [InlineData("{\"name\":\"D\",\"expectedCloseDate\":\"tomorrow\"}", "expectedCloseDate")]
    [InlineData("{\"name\":\"D\",\"stageId\":\"00000000-0000-0000-0000-000000000001\"}", "stageId")]
    [InlineData("{\"name\":\"D\",\"pipelineId\":\"00000000-0000-0000-0000-000000000001\"}", "pipelineId")]
    [InlineData("{\"name\":\"D\",\"companyId\":\"00000000-0000-0000-0000-000000000001\"}", "companyId")]
    [InlineData("{\"name\":\"D\",\"primaryContactId\":\"00000000-0000-0000-0000-000000000001\"}", "primaryContactId")]
    [InlineData("{\"name\":\"D\",\"ownerId\":\"00000000-0000-0000-0000-000000000001\"}", "ownerId")]
    [InlineData("{\"name\":\"D\",\"status\":\"won\"}", "status")]
    [InlineData("{\"name\":\"D\",\"colour\":\"red\"}", "colour")]
    [InlineData("{\"name\":\"D\",\"lostReason\":\"" + LongText + "\"}", "lostReason")]
    public async Task Invalid_deal_input_is_a_400_naming_the_field_and_nothing_is_written(string body, string field)
    {
        var before = await PlatformEnvironment.CountRowsAsync(_org, "SELECT count(*) FROM deals");
        var response = await _owner.PostAsync("/api/v1/deals", Json(body));
        var problem = await Problem.ReadAsync(response, HttpStatusCode.BadRequest);
        ((problem.Errors?.ContainsKey(field) ?? false) || problem.Detail.Contains(field, StringComparison.Ordinal))
            .ShouldBeTrue(problem.Detail);
        (await PlatformEnvironment.CountRowsAsync(_org, "SELECT count(*) FROM deals")).ShouldBe(before);
        (await PlatformEnvironment.CountRowsAsync(_org, "SELECT count(*) FROM audit_log WHERE entity_type = 'deal'")).ShouldBe(before);
    }

    [Fact]
    public async Task Moving_to_won_closes_the_deal_moving_back_reopens_it_and_every_move_is_in_the_history()
    {
        var id = await OrgScopedEndpoints.CreateAsync(_owner, "deals", new { name = "Mover" });
        var won = await Move(id, new { stageId = _stages["Won"] });
        won.GetProperty("status").GetString().ShouldBe("won");
        won.GetProperty("probability").GetInt32().ShouldBe(100);
        won.GetProperty("closedAt").GetString()!.ShouldEndWith("Z");

        var reopened = await Move(id, new { stageId = _stages["Proposal"] });
        reopened.GetProperty("status").GetString().ShouldBe("open");
        reopened.GetProperty("closedAt").ValueKind.ShouldBe(JsonValueKind.Null);
        reopened.GetProperty("probability").GetInt32().ShouldBe(50);

        var lost = await Move(id, new { stageId = _stages["Lost"], lostReason = "Budget cut" });
        lost.GetProperty("status").GetString().ShouldBe("lost");
        lost.GetProperty("lostReason").GetString().ShouldBe("Budget cut");

        var history = await _owner.GetFromJsonAsync<JsonElement>($"/api/v1/deals/{id}/history");
        history.GetProperty("items").EnumerateArray().Select(h => h.GetProperty("toStageId").GetGuid())
            .ShouldBe([_stages["Lead"], _stages["Won"], _stages["Proposal"], _stages["Lost"]]);
        history.GetProperty("items")[1].GetProperty("fromStageId").GetGuid().ShouldBe(_stages["Lead"]);
        (await PlatformEnvironment.CountRowsAsync(
            _org, $"SELECT count(*) FROM deals WHERE id = '{id}' AND status = 'lost' AND closed_at IS NOT NULL")).ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(
            _org, $"SELECT count(*) FROM audit_log WHERE entity_id = '{id}' AND action = 'updated' AND changes ? 'stageId'")).ShouldBe(3);
    }

    [Fact]
    public async Task A_stage_of_another_pipeline_or_a_bad_move_body_is_refused()
    {
        var id = await OrgScopedEndpoints.CreateAsync(_owner, "deals", new { name = "Stubborn" });
        var otherPipeline = Guid.NewGuid();
        var otherStage = Guid.NewGuid();
        (await PlatformEnvironment.CountRowsAsync(_org, $"""
            WITH p AS (INSERT INTO pipelines (id, name, is_default, created_at, updated_at) VALUES ('{otherPipeline}', 'Partners', false, now(), now()) RETURNING id),
                 s AS (INSERT INTO pipeline_stages (id, pipeline_id, name, position, probability, kind) SELECT '{otherStage}', id, 'Intro', 0, 5, 'open' FROM p RETURNING id)
            SELECT count(*) FROM s
            """)).ShouldBe(1);

        (await Problem.ReadAsync(await _owner.PostAsJsonAsync($"/api/v1/deals/{id}/move", new { stageId = otherStage }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("stageId");
        (await Problem.ReadAsync(await _owner.PostAsync($"/api/v1/deals/{id}/move", Json("{}")), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("stageId");
        await Problem.ReadAsync(await _owner.PostAsync($"/api/v1/deals/{id}/move", Json("{\"stageId\":42}")), HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await _owner.PostAsync($"/api/v1/deals/{id}/move",
            Json($"{{\"stageId\":\"{_stages["Won"]}\",\"extra\":1}}")), HttpStatusCode.BadRequest);
        (await Problem.ReadAsync(await _owner.PostAsJsonAsync($"/api/v1/deals/{id}/move",
            new { stageId = _stages["Won"], lostReason = "n/a" }), HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("lostReason");
        await Problem.ReadAsync(await _owner.PostAsJsonAsync($"/api/v1/deals/{Guid.NewGuid()}/move", new { stageId = _stages["Won"] }),
            HttpStatusCode.NotFound);
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM deal_stage_history WHERE deal_id = '{id}'")).ShouldBe(1);

        // Creating or patching into the other pipeline works when the stage belongs to it; a mismatched pair does not.
        (await Problem.ReadAsync(await _owner.PostAsJsonAsync("/api/v1/deals", new
        {
            name = "Mismatch",
            pipelineId = _pipeline,
            stageId = otherStage
        }), HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("stageId");
        var patched =
            await _owner.PatchAsync($"/api/v1/deals/{id}", Json($"{{\"pipelineId\":\"{otherPipeline}\",\"stageId\":\"{otherStage}\"}}"));
        patched.StatusCode.ShouldBe(HttpStatusCode.OK, await patched.Content.ReadAsStringAsync());
        (await patched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("probability").GetInt32().ShouldBe(5);
        (await PlatformEnvironment.CountRowsAsync(
            _org, $"SELECT count(*) FROM deal_stage_history WHERE deal_id = '{id}' AND to_stage_id = '{otherStage}'")).ShouldBe(1);
    }

    [Fact]
    public async Task Splits_sum_to_100_per_type_name_only_members_and_replace_the_previous_ones()
    {
        var id = await OrgScopedEndpoints.CreateAsync(_owner, "deals", new { name = "Shared" });
        var response = await _owner.PutAsJsonAsync($"/api/v1/deals/{id}/splits", new object[]
        {
            new { memberId = _ownerUser.Id, percent = 60.5m },
            new { memberId = _seller.Id, percent = 39.5m, type = "revenue" },
            new { memberId = _seller.Id, percent = 100, type = "overlay" },
        });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetArrayLength().ShouldBe(3);
        (await PlatformEnvironment.CountRowsAsync(_org,
            $"SELECT count(*) FROM deal_splits WHERE deal_id = '{id}' AND deleted_at IS NULL AND type = 'revenue' AND percent = 60.5"))
            .ShouldBe(1);

        (await Problem.ReadAsync(await _owner.PutAsJsonAsync($"/api/v1/deals/{id}/splits",
            new[] { new { memberId = _ownerUser.Id, percent = 90 } }), HttpStatusCode.BadRequest)).Detail.ShouldContain("100");
        (await Problem.ReadAsync(await _owner.PutAsJsonAsync($"/api/v1/deals/{id}/splits", new[] { new { memberId = Guid.NewGuid(),
            percent = 100 } }), HttpStatusCode.BadRequest)).Errors!.Keys.ShouldContain(k => k.Contains("memberId"));
        await Problem.ReadAsync(await _owner.PutAsJsonAsync($"/api/v1/deals/{id}/splits", new[] {
            new { memberId = _ownerUser.Id, percent = 50 }, new { memberId = _ownerUser.Id, percent = 50 } }), HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await _owner.PutAsJsonAsync($"/api/v1/deals/{id}/splits", new[] {
            new { memberId = _ownerUser.Id, percent = -100 }, new { memberId = _seller.Id, percent = 200 } }), HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await _owner.PutAsync($"/api/v1/deals/{id}/splits",
            Json($"[{{\"memberId\":\"{_seller.Id}\",\"percent\":100,\"type\":\"bonus\"}}]")), HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await _owner.PutAsync($"/api/v1/deals/{id}/splits", Json("{\"memberId\":1}")), HttpStatusCode.BadRequest);
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM deal_splits WHERE deal_id = '{id}' AND deleted_at IS NULL"))
            .ShouldBe(3);

        var replaced = await _owner.PutAsJsonAsync($"/api/v1/deals/{id}/splits", new[] { new { memberId = _seller.Id, percent = 100 } });
        replaced.StatusCode.ShouldBe(HttpStatusCode.OK, await replaced.Content.ReadAsStringAsync());
        var live = await _owner.GetFromJsonAsync<JsonElement>($"/api/v1/deals/{id}/splits");
        live.GetArrayLength().ShouldBe(1);
        live[0].GetProperty("memberId").GetGuid().ShouldBe(_seller.Id);
        live[0].GetProperty("type").GetString().ShouldBe("revenue");
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM deal_splits WHERE deal_id = '{id}' AND deleted_at IS NULL"))
            .ShouldBe(1);
    }

    [Fact]
    public async Task Splits_need_the_revenue_splitting_feature_of_the_plan()
    {
        var owner = await platform.CreateUserAsync();
        var free = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Free);
        var client = _api.ClientFor(owner.Id, free.Slug);
        var id = await OrgScopedEndpoints.CreateAsync(client, "deals", new { name = "Free plan deal" });
        var refused = await Problem.ReadAsync(await client.PutAsJsonAsync($"/api/v1/deals/{id}/splits",
            new[] { new { memberId = owner.Id, percent = 100 } }), HttpStatusCode.Forbidden);
        refused.Type.ShouldBe("https://cleancrm.dev/problems/feature_disabled");
        refused.Detail.ShouldContain("revenue_splitting");
        (await PlatformEnvironment.CountRowsAsync(free, "SELECT count(*) FROM deal_splits")).ShouldBe(0);
        (await client.GetAsync($"/api/v1/deals/{id}/splits")).StatusCode.ShouldBe(HttpStatusCode.OK, "reading splits is not premium");
    }

    [Fact]
    public async Task Lists_search_filter_sort_and_page_deals()
    {
        var org = await platform.CreateOrganizationAsync(members: [(_ownerUser, OrgRole.Owner)]);
        var client = _api.ClientFor(_ownerUser.Id, org.Slug);
        var company = await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Umbrella" });
        for (var i = 0; i < 5; i++)
        {
            await OrgScopedEndpoints.CreateAsync(
                client, "deals", new { name = $"Routine deal {i}", amount = (i + 1) * 1000, currency = "USD" });
        }

        var special = await OrgScopedEndpoints.CreateAsync(
            client, "deals", new { name = "Quantum umbrella expansion", amount = 50, currency = "USD", companyId = company });
        var pipeline = (await client.GetFromJsonAsync<JsonElement>("/api/v1/pipelines")).GetProperty("items")[0].GetProperty("stages");
        var wonStage = pipeline.EnumerateArray().Single(s => s.GetProperty("kind").GetString() == "won").GetProperty("id").GetGuid();
        await client.PostAsJsonAsync($"/api/v1/deals/{special}/move", new { stageId = wonStage });

        Ids(await client.GetFromJsonAsync<JsonElement>("/api/v1/deals?q=quantum")).ShouldBe([special]);
        Ids(await client.GetFromJsonAsync<JsonElement>($"/api/v1/deals?companyId={company}")).ShouldBe([special]);
        Ids(await client.GetFromJsonAsync<JsonElement>("/api/v1/deals?status=won")).ShouldBe([special]);
        Ids(await client.GetFromJsonAsync<JsonElement>($"/api/v1/deals?stageId={wonStage}")).ShouldBe([special]);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/deals?minAmount=2000&maxAmount=4000")).GetProperty("items").GetArrayLength()
            .ShouldBe(3);

        var amounts = new List<long>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>(
                $"/api/v1/deals?limit=4&sort=-amount{(cursor is null ? "" : "&cursor=" + cursor)}");
            amounts.AddRange(page.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("amount").GetInt64()));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        amounts.ShouldBe([5000, 4000, 3000, 2000, 1000, 50]);

        (await Problem.ReadAsync(await client.GetAsync("/api/v1/deals?limit=201"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("limit");
        (await Problem.ReadAsync(await client.GetAsync("/api/v1/deals?limit=1000000"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("limit");
        (await Problem.ReadAsync(await client.GetAsync("/api/v1/deals?status=maybe"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("status");
        (await Problem.ReadAsync(await client.GetAsync("/api/v1/deals?sort=ownerSecret"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("sort");
        (await Problem.ReadAsync(await client.GetAsync("/api/v1/deals?cursor=%%%"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("cursor");
        var forged =
            Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{{\"S\":\"-amount\",\"V\":\"not-a-number\",\"I\":\"{Guid.NewGuid()}\"}}"));
        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/deals?sort=-amount&cursor={forged}"), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("cursor");
        await Problem.ReadAsync(await client.GetAsync("/api/v1/deals?limit=ten"), HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await client.GetAsync("/api/v1/deals?companyId=not-a-uuid"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Two_concurrent_patches_with_the_same_etag_let_exactly_one_win()
    {
        var created = await _owner.PostAsJsonAsync("/api/v1/deals", new { name = "Contended" });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var etag = created.Headers.ETag!.Tag;
        HttpRequestMessage Patch(int i)
        {
            var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/deals/{id}")
            {
                Content = Json($"{{\"name\":\"Writer {i}\",\"probability\":{i}}}")
            };
            request.Headers.IfMatch.Add(new EntityTagHeaderValue(etag));
            return request;
        }

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => _owner.SendAsync(Patch(i))));
        responses.Count(r => r.StatusCode == HttpStatusCode.OK).ShouldBe(1);
        responses.Count(r => r.StatusCode == HttpStatusCode.PreconditionFailed).ShouldBe(5);
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM audit_log WHERE entity_id = '{id}' AND action = 'updated'"))
            .ShouldBe(1);

        var stale = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/deals/{id}/move")
        {
            Content = JsonContent.Create(new { stageId = _stages["Won"] })
        };
        stale.Headers.IfMatch.Add(new EntityTagHeaderValue(etag));
        await Problem.ReadAsync(await _owner.SendAsync(stale), HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task Deleted_deals_disappear_and_cannot_be_referenced()
    {
        var id = await OrgScopedEndpoints.CreateAsync(_owner, "deals", new { name = "Doomed" });
        (await _owner.DeleteAsync($"/api/v1/deals/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await Problem.ReadAsync(await _owner.GetAsync($"/api/v1/deals/{id}"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await _owner.DeleteAsync($"/api/v1/deals/{id}"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await _owner.GetAsync($"/api/v1/deals/{id}/history"), HttpStatusCode.NotFound);
        (await Problem.ReadAsync(await _owner.PostAsJsonAsync("/api/v1/notes", new { body = "late", dealId = id }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("dealId");
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM deals WHERE id = '{id}' AND deleted_at IS NOT NULL"))
            .ShouldBe(1);
        (await PlatformEnvironment.CountRowsAsync(_org, $"SELECT count(*) FROM audit_log WHERE entity_id = '{id}' AND action = 'deleted'"))
            .ShouldBe(1);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private const string LongText = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" +
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" +
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" +
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" +
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static List<Guid> Ids(JsonElement page) =>
        [.. page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid())];

    private async Task<JsonElement> Move(Guid id, object body)
    {
        var response = await _owner.PostAsJsonAsync($"/api/v1/deals/{id}/move", body);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
