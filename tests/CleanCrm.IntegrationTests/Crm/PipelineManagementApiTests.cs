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
/// Pipelines a sales team shapes (docs/API.md "Pipelines"): create, rename, default, stages added, changed, reordered and
/// deleted with their deals moved (and recorded in the deals' stage history), the pipeline's ETag guarding it all.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class PipelineManagementApiTests(SharedPlatform platform) : IAsyncLifetime
{
    private static readonly object[] TwoStages =
    [
        new { name = "Qualify", probability = 20, kind = "open" },
        new { name = "Signed", probability = 100, kind = "won" },
    ];

    private ApiFactory _api = null!;
    private HttpClient _owner = null!;
    private HttpClient _member = null!;
    private Organization _org = null!;

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var owner = await platform.CreateUserAsync();
        var member = await platform.CreateUserAsync();
        _org = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), (member, OrgRole.Member)]);
        _owner = _api.ClientFor(owner.Id, _org.Slug);
        _member = _api.ClientFor(member.Id, _org.Slug);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task An_admin_creates_a_pipeline_with_ordered_stages_and_makes_it_the_default()
    {
        var created = await _owner.PostAsJsonAsync("/api/v1/pipelines", new
        {
            name = "Renewals",
            stages = new object[]
            {
                new { name = "Contacted", probability = 30, kind = "open" },
                new { name = "Negotiating", probability = 60, kind = "open" },
                new { name = "Renewed", probability = 100, kind = "won" },
                new { name = "Churned", probability = 0, kind = "lost" },
            },
        });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var pipeline = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = pipeline.GetProperty("id").GetGuid();
        created.Headers.Location!.ToString().ShouldBe($"/api/v1/pipelines/{id}");
        created.Headers.ETag.ShouldNotBeNull();
        pipeline.GetProperty("isDefault").GetBoolean().ShouldBeFalse();
        Names(pipeline).ShouldBe(["Contacted", "Negotiating", "Renewed", "Churned"]);
        pipeline.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("position").GetInt32()).ShouldBe([0, 1, 2, 3]);

        var previousDefault = await DefaultPipelineAsync();
        var patched = await PatchAsync($"/api/v1/pipelines/{id}", "{\"isDefault\":true,\"name\":\"Renewals 2027\"}",
            created.Headers.ETag!.Tag);
        patched.StatusCode.ShouldBe(HttpStatusCode.OK, await patched.Content.ReadAsStringAsync());
        (await DefaultPipelineAsync()).GetProperty("id").GetGuid().ShouldBe(id);
        var list = (await _owner.GetFromJsonAsync<JsonElement>("/api/v1/pipelines")).GetProperty("items").EnumerateArray().ToList();
        list.Count(p => p.GetProperty("isDefault").GetBoolean()).ShouldBe(1);
        list.Single(p => p.GetProperty("id").GetGuid() == previousDefault.GetProperty("id").GetGuid())
            .GetProperty("isDefault").GetBoolean().ShouldBeFalse();

        // A new deal without a pipeline now starts in the new default's first open stage.
        var deal = await (await _owner.PostAsJsonAsync("/api/v1/deals", new { name = "Acme renewal" })).Content
            .ReadFromJsonAsync<JsonElement>();
        deal.GetProperty("pipelineId").GetGuid().ShouldBe(id);
        deal.GetProperty("probability").GetInt32().ShouldBe(30);

        // The default is handed over, never switched off; the ETag of before the patch is stale.
        (await Problem.ReadAsync(await PatchAsync($"/api/v1/pipelines/{id}", "{\"isDefault\":false}"), HttpStatusCode.Conflict))
            .Code.ShouldBe("conflict");
        await Problem.ReadAsync(await PatchAsync($"/api/v1/pipelines/{id}", "{\"name\":\"X\"}", created.Headers.ETag.Tag),
            HttpStatusCode.PreconditionFailed);
    }

    [Theory]
    [InlineData("{\"stages\":[{\"name\":\"A\",\"probability\":10,\"kind\":\"open\"}]}", "name")]
    [InlineData("{\"name\":\"P\"}", "stages")]
    [InlineData("{\"name\":\"P\",\"stages\":[]}", "stages")]
    [InlineData("{\"name\":\"P\",\"stages\":[{\"name\":\"Won\",\"probability\":100,\"kind\":\"won\"}]}", "stages")]
    [InlineData("{\"name\":\"P\",\"stages\":[{\"name\":\"A\",\"probability\":101,\"kind\":\"open\"}]}", "stages[0].probability")]
    [InlineData("{\"name\":\"P\",\"stages\":[{\"name\":\"\",\"probability\":1,\"kind\":\"open\"}]}", "stages[0].name")]
    [InlineData("{\"name\":\"P\",\"stages\":[{\"name\":\"A\",\"probability\":1,\"kind\":\"open\",\"position\":3}]}",
        "stages[0].position")]
    [InlineData("{\"name\":\"P\",\"stages\":[{\"name\":\"A\",\"probability\":1,\"kind\":\"open\"},"
        + "{\"name\":\"a\",\"probability\":2,\"kind\":\"open\"}]}", "stages")]
    [InlineData("{\"name\":\"P\",\"stages\":[{\"name\":\"A\",\"probability\":1,\"kind\":\"maybe\"}]}", null)]
    [InlineData("{\"name\":\"P\",\"stages\":\"none\"}", null)]
    public async Task A_pipeline_with_bad_input_is_refused_naming_the_field_and_nothing_is_created(string body, string? field)
    {
        var before = await CountPipelinesAsync();

        var problem = await Problem.ReadAsync(await _owner.PostAsync("/api/v1/pipelines", Json(body)), HttpStatusCode.BadRequest);

        if (field is not null)
        {
            problem.Errors.ShouldNotBeNull(problem.Detail).Keys.ShouldContain(field, problem.Detail);
        }

        (await CountPipelinesAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Pipeline_names_are_unique_whatever_their_case_and_only_admins_shape_pipelines()
    {
        (await _owner.PostAsJsonAsync("/api/v1/pipelines", new { name = "Partners", stages = TwoStages })).StatusCode
            .ShouldBe(HttpStatusCode.Created);
        var duplicate = await Problem.ReadAsync(
            await _owner.PostAsJsonAsync("/api/v1/pipelines", new { name = "PARTNERS", stages = TwoStages }), HttpStatusCode.Conflict);
        duplicate.Code.ShouldBe("duplicate_value");
        duplicate.Errors!.Keys.ShouldContain("name");

        var before = await CountPipelinesAsync();
        await Problem.ReadAsync(await _member.PostAsJsonAsync("/api/v1/pipelines", new { name = "Mine", stages = TwoStages }),
            HttpStatusCode.Forbidden);
        var id = (await DefaultPipelineAsync()).GetProperty("id").GetGuid();
        await Problem.ReadAsync(await _member.SendAsync(new HttpRequestMessage(HttpMethod.Put, $"/api/v1/pipelines/{id}/stages/order")
        {
            Content = Json("{\"stageIds\":[]}"),
        }), HttpStatusCode.Forbidden);
        (await CountPipelinesAsync()).ShouldBe(before);
        (await _member.GetAsync($"/api/v1/pipelines/{id}")).StatusCode.ShouldBe(HttpStatusCode.OK, "members still read pipelines");
    }

    [Fact]
    public async Task Stages_are_added_changed_and_reordered_in_one_transaction_under_the_pipelines_etag()
    {
        var (id, etag) = await CreateAsync("Stage work " + Guid.NewGuid().ToString("N")[..6]);

        var added = await SendAsync(HttpMethod.Post, $"/api/v1/pipelines/{id}/stages",
            "{\"name\":\"Demo\",\"probability\":40,\"kind\":\"open\",\"position\":1}", etag);
        added.StatusCode.ShouldBe(HttpStatusCode.Created, await added.Content.ReadAsStringAsync());
        var pipeline = await added.Content.ReadFromJsonAsync<JsonElement>();
        Names(pipeline).ShouldBe(["Qualify", "Demo", "Signed"]);
        added.Headers.ETag!.Tag.ShouldNotBe(etag, "a stage write changes the pipeline's ETag");
        await Problem.ReadAsync(await SendAsync(HttpMethod.Post, $"/api/v1/pipelines/{id}/stages",
            "{\"name\":\"Late\",\"probability\":40,\"kind\":\"open\"}", etag), HttpStatusCode.PreconditionFailed);

        // Reversing the order swaps positions that are unique per pipeline: checked at commit, so it succeeds.
        var ids = StageIds(pipeline);
        var reordered = await SendAsync(HttpMethod.Put, $"/api/v1/pipelines/{id}/stages/order",
            JsonSerializer.Serialize(new { stageIds = ids.AsEnumerable().Reverse() }), added.Headers.ETag.Tag);
        reordered.StatusCode.ShouldBe(HttpStatusCode.OK, await reordered.Content.ReadAsStringAsync());
        Names(await reordered.Content.ReadFromJsonAsync<JsonElement>()).ShouldBe(["Signed", "Demo", "Qualify"]);

        var demo = ids[1];
        var renamed = await PatchAsync($"/api/v1/pipelines/{id}/stages/{demo}", "{\"name\":\"Product demo\",\"probability\":45}");
        renamed.StatusCode.ShouldBe(HttpStatusCode.OK, await renamed.Content.ReadAsStringAsync());
        var stage = (await renamed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("stages").EnumerateArray()
            .Single(s => s.GetProperty("id").GetGuid() == demo);
        stage.GetProperty("name").GetString().ShouldBe("Product demo");
        stage.GetProperty("probability").GetInt32().ShouldBe(45);

        // Bad input: nothing changes.
        var current = await PipelineAsync(id);
        await ShouldRefuseAsync(HttpMethod.Put, $"/api/v1/pipelines/{id}/stages/order",
            JsonSerializer.Serialize(new { stageIds = ids.Take(2) }), "stageIds");
        await ShouldRefuseAsync(HttpMethod.Put, $"/api/v1/pipelines/{id}/stages/order",
            JsonSerializer.Serialize(new { stageIds = new[] { ids[0], ids[0], ids[1] } }), "stageIds");
        await ShouldRefuseAsync(HttpMethod.Put, $"/api/v1/pipelines/{id}/stages/order",
            JsonSerializer.Serialize(new { stageIds = new[] { ids[0], ids[1], Guid.NewGuid() } }), "stageIds");
        await ShouldRefuseAsync(HttpMethod.Post, $"/api/v1/pipelines/{id}/stages",
            "{\"name\":\"QUALIFY\",\"probability\":1,\"kind\":\"open\"}", "name");
        await ShouldRefuseAsync(HttpMethod.Post, $"/api/v1/pipelines/{id}/stages",
            "{\"name\":\"Far\",\"probability\":1,\"kind\":\"open\",\"position\":9}", "position");
        await ShouldRefuseAsync(HttpMethod.Post, $"/api/v1/pipelines/{id}/stages", "{\"name\":\"No kind\",\"probability\":1}", "kind");
        await ShouldRefuseAsync(new HttpMethod("PATCH"), $"/api/v1/pipelines/{id}/stages/{demo}", "{\"probability\":-1}", "probability");
        await ShouldRefuseAsync(new HttpMethod("PATCH"), $"/api/v1/pipelines/{id}/stages/{demo}", "{\"name\":null}", "name");
        (await PipelineAsync(id)).GetRawText().ShouldBe(current.GetRawText());
        await Problem.ReadAsync(await PatchAsync($"/api/v1/pipelines/{id}/stages/{Guid.NewGuid()}", "{\"name\":\"X\"}"),
            HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Deleting_a_stage_that_holds_deals_moves_them_to_a_stage_of_the_same_kind_with_history()
    {
        var (id, _) = await CreateAsync("Moves " + Guid.NewGuid().ToString("N")[..6], extraOpen: true);
        var pipeline = await PipelineAsync(id);
        var (qualify, propose, signed) = (StageIds(pipeline)[0], StageIds(pipeline)[1], StageIds(pipeline)[2]);
        var deal = await CreateDealAsync(id, qualify);

        await Problem.ReadAsync(await SendAsync(HttpMethod.Delete, $"/api/v1/pipelines/{id}/stages/{qualify}"), HttpStatusCode.Conflict);
        var wrongKind = await Problem.ReadAsync(
            await SendAsync(HttpMethod.Delete, $"/api/v1/pipelines/{id}/stages/{qualify}?targetStageId={signed}"),
            HttpStatusCode.BadRequest);
        wrongKind.Errors!.Keys.ShouldContain("targetStageId");
        await Problem.ReadAsync(await SendAsync(HttpMethod.Delete, $"/api/v1/pipelines/{id}/stages/{qualify}?targetStageId={qualify}"),
            HttpStatusCode.BadRequest);
        (await DealAsync(deal)).GetProperty("stageId").GetGuid().ShouldBe(qualify, "refusals move nothing");

        var deleted = await SendAsync(HttpMethod.Delete, $"/api/v1/pipelines/{id}/stages/{qualify}?targetStageId={propose}");
        deleted.StatusCode.ShouldBe(HttpStatusCode.OK, await deleted.Content.ReadAsStringAsync());
        var after = await deleted.Content.ReadFromJsonAsync<JsonElement>();
        StageIds(after).ShouldBe([propose, signed]);
        after.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("position").GetInt32()).ShouldBe([0, 1]);
        var moved = await DealAsync(deal);
        moved.GetProperty("stageId").GetGuid().ShouldBe(propose);
        moved.GetProperty("probability").GetInt32().ShouldBe(50);
        var history = (await _owner.GetFromJsonAsync<JsonElement>($"/api/v1/deals/{deal}/history")).GetProperty("items")
            .EnumerateArray().ToList();
        history.ShouldContain(h => h.GetProperty("fromStageId").ValueKind == JsonValueKind.String
                                   && h.GetProperty("fromStageId").GetGuid() == qualify && h.GetProperty("toStageId").GetGuid() == propose);

        // The deleted stage takes no new deal, and a pipeline keeps an open stage.
        (await Problem.ReadAsync(await _owner.PostAsJsonAsync($"/api/v1/deals/{deal}/move", new { stageId = qualify }),
            HttpStatusCode.BadRequest)).Errors!.Keys.ShouldContain("stageId");
        (await Problem.ReadAsync(await SendAsync(HttpMethod.Delete, $"/api/v1/pipelines/{id}/stages/{propose}?targetStageId={signed}"),
            HttpStatusCode.Conflict)).Detail.ShouldContain("open stage");
        var emptyOpen = await Problem.ReadAsync(await PatchAsync($"/api/v1/pipelines/{id}/stages/{propose}", "{\"kind\":\"won\"}"),
            HttpStatusCode.Conflict);
        emptyOpen.Detail.ShouldContain("holds deals");
        (await PlatformEnvironment.CountRowsAsync(_org,
            $"SELECT count(*) FROM pipeline_stages WHERE id = '{qualify}' AND deleted_at IS NOT NULL AND position < 0")).ShouldBe(1);
    }

    [Fact]
    public async Task Deleting_a_pipeline_moves_its_open_deals_to_the_target_and_leaves_closed_ones()
    {
        var (id, _) = await CreateAsync("Closing " + Guid.NewGuid().ToString("N")[..6]);
        var stages = StageIds(await PipelineAsync(id));
        var open = await CreateDealAsync(id, stages[0]);
        var won = await CreateDealAsync(id, stages[1]);
        var target = await DefaultPipelineAsync();
        var targetId = target.GetProperty("id").GetGuid();
        var firstOpen = target.GetProperty("stages")[0].GetProperty("id").GetGuid();

        await Problem.ReadAsync(await SendAsync(HttpMethod.Delete, $"/api/v1/pipelines/{targetId}?targetPipelineId={id}"),
            HttpStatusCode.Conflict);
        await Problem.ReadAsync(await SendAsync(HttpMethod.Delete, $"/api/v1/pipelines/{id}"), HttpStatusCode.Conflict);
        (await Problem.ReadAsync(await SendAsync(HttpMethod.Delete, $"/api/v1/pipelines/{id}?targetPipelineId={Guid.NewGuid()}"),
            HttpStatusCode.BadRequest)).Errors!.Keys.ShouldContain("targetPipelineId");
        await Problem.ReadAsync(await SendAsync(HttpMethod.Delete, $"/api/v1/pipelines/{id}?targetPipelineId={id}"),
            HttpStatusCode.BadRequest);
        (await PipelineAsync(id)).GetProperty("id").GetGuid().ShouldBe(id, "refusals delete nothing");

        (await SendAsync(HttpMethod.Delete, $"/api/v1/pipelines/{id}?targetPipelineId={targetId}")).StatusCode
            .ShouldBe(HttpStatusCode.NoContent);
        (await _owner.GetAsync($"/api/v1/pipelines/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var moved = await DealAsync(open);
        moved.GetProperty("pipelineId").GetGuid().ShouldBe(targetId);
        moved.GetProperty("stageId").GetGuid().ShouldBe(firstOpen);
        var closed = await DealAsync(won);
        closed.GetProperty("pipelineId").GetGuid().ShouldBe(id);
        closed.GetProperty("status").GetString().ShouldBe("won");
        (await PlatformEnvironment.CountRowsAsync(_org,
            $"SELECT count(*) FROM audit_log WHERE entity_type = 'pipeline' AND entity_id = '{id}'")).ShouldBeGreaterThanOrEqualTo(2);
    }

    [Fact]
    public async Task Another_organization_cannot_see_or_change_this_organizations_pipelines()
    {
        var (id, etag) = await CreateAsync("Private " + Guid.NewGuid().ToString("N")[..6]);
        var stage = StageIds(await PipelineAsync(id))[0];
        var stranger = await platform.CreateUserAsync();
        var other = await platform.CreateOrganizationAsync(members: [(stranger, OrgRole.Owner)]);
        var theirs = _api.ClientFor(stranger.Id, other.Slug);
        var before = (await PipelineAsync(id)).GetRawText();

        foreach (var request in new Func<HttpRequestMessage>[]
                 {
                     () => new(HttpMethod.Get, $"/api/v1/pipelines/{id}"),
                     () => new(new HttpMethod("PATCH"), $"/api/v1/pipelines/{id}") { Content = Json("{\"name\":\"Taken\"}") },
                     () => new(HttpMethod.Delete, $"/api/v1/pipelines/{id}"),
                     () => new(HttpMethod.Post, $"/api/v1/pipelines/{id}/stages")
                     {
                         Content = Json("{\"name\":\"X\",\"probability\":1,\"kind\":\"open\"}"),
                     },
                     () => new(new HttpMethod("PATCH"), $"/api/v1/pipelines/{id}/stages/{stage}") { Content = Json("{\"name\":\"X\"}") },
                     () => new(HttpMethod.Delete, $"/api/v1/pipelines/{id}/stages/{stage}"),
                     () => new(HttpMethod.Put, $"/api/v1/pipelines/{id}/stages/order")
                     {
                         Content = Json(JsonSerializer.Serialize(new { stageIds = new[] { stage } })),
                     },
                 })
        {
            var message = request();
            await Problem.ReadAsync(await theirs.SendAsync(message), HttpStatusCode.NotFound);
            var withOurHeader = request();
            withOurHeader.Headers.Add("X-Org", _org.Slug);
            ((int)(await _api.ClientFor(stranger.Id).SendAsync(withOurHeader)).StatusCode).ShouldBe(404, "not a member of this org");
        }

        (await PipelineAsync(id)).GetRawText().ShouldBe(before);
        (await _owner.GetAsync($"/api/v1/pipelines/{id}")).Headers.ETag!.Tag.ShouldBe(etag);
    }

    private async Task<(Guid Id, string ETag)> CreateAsync(string name, bool extraOpen = false)
    {
        object[] stages = extraOpen
            ? [TwoStages[0], new { name = "Propose", probability = 50, kind = "open" }, TwoStages[1]]
            : TwoStages;
        var created = await _owner.PostAsJsonAsync("/api/v1/pipelines", new { name, stages });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        return ((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid(), created.Headers.ETag!.Tag);
    }

    private async Task<Guid> CreateDealAsync(Guid pipelineId, Guid stageId)
    {
        var created = await _owner.PostAsJsonAsync("/api/v1/deals", new { name = "Deal", pipelineId, stageId });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private async Task<JsonElement> DealAsync(Guid id) => await _owner.GetFromJsonAsync<JsonElement>($"/api/v1/deals/{id}");

    private async Task<JsonElement> PipelineAsync(Guid id) => await _owner.GetFromJsonAsync<JsonElement>($"/api/v1/pipelines/{id}");

    private async Task<JsonElement> DefaultPipelineAsync() =>
        (await _owner.GetFromJsonAsync<JsonElement>("/api/v1/pipelines")).GetProperty("items").EnumerateArray()
        .Single(p => p.GetProperty("isDefault").GetBoolean());

    private Task<long> CountPipelinesAsync() =>
        PlatformEnvironment.CountRowsAsync(_org, "SELECT count(*) FROM pipelines WHERE deleted_at IS NULL");

    private async Task ShouldRefuseAsync(HttpMethod method, string path, string body, string field) =>
        (await Problem.ReadAsync(await SendAsync(method, path, body), HttpStatusCode.BadRequest)).Errors.ShouldNotBeNull()
        .Keys.ShouldContain(field);

    private Task<HttpResponseMessage> PatchAsync(string path, string body, string? ifMatch = null) =>
        SendAsync(new HttpMethod("PATCH"), path, body, ifMatch);

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? body = null, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Json(body) };
        if (ifMatch is not null)
        {
            request.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(ifMatch));
        }

        return _owner.SendAsync(request);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static List<string> Names(JsonElement pipeline) =>
        [.. pipeline.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("name").GetString()!)];

    private static List<Guid> StageIds(JsonElement pipeline) =>
        [.. pipeline.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("id").GetGuid())];
}
