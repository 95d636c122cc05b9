using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CleanCrm.IntegrationTests.Crm;

/// <summary>
/// Advanced reports (docs/REPORTS.md) on a hand-built organization: two pipelines, three members, revenue and overlay
/// splits, EUR/USD/GBP deals won, lost and open, activities and meetings. Time is a fake clock moved between the writes,
/// so every number below is computed by hand from the timeline in <see cref="ReportsWorld"/>.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class ReportsApiTests(SharedPlatform platform) : IAsyncLifetime
{
    private ReportsWorld _world = null!;

    public async Task InitializeAsync() =>
        _world = await platform.SharedAsync(nameof(ReportsApiTests), () => ReportsWorld.CreateAsync(platform));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Pipeline_report_counts_open_deals_per_stage_with_amounts_per_currency_weighted_and_aged_from_the_last_move()
    {
        var report = await _world.GetAsync($"/api/v1/reports/pipeline?pipelineId={_world.Enterprise}");
        var items = report.GetProperty("items").EnumerateArray().ToList();
        items.Select(i => i.GetProperty("stageName").GetString()).ShouldBe(["Qualify", "Propose"]);

        var qualify = items[0];
        qualify.GetProperty("stageId").GetGuid().ShouldBe(_world.Stages["Qualify"]);
        qualify.GetProperty("pipelineName").GetString().ShouldBe("Enterprise");
        qualify.GetProperty("dealCount").GetInt32().ShouldBe(2);
        qualify.GetProperty("averageAgeDays").GetDouble().ShouldBe(35.0);
        Amounts(qualify).ShouldBe(["EUR 1 1000000 200000", "USD 1 500000 100000"]);

        // D3 entered Propose two days after it was created: its age counts from that move, not from its creation.
        var propose = items[1];
        propose.GetProperty("dealCount").GetInt32().ShouldBe(1);
        propose.GetProperty("averageAgeDays").GetDouble().ShouldBe(33.0);
        Amounts(propose).ShouldBe(["EUR 1 2000000 1900000"]);
    }

    [Fact]
    public async Task Pipeline_report_without_filters_lists_every_open_stage_default_pipeline_first_and_counts_deals_without_amount()
    {
        var items = (await _world.GetAsync("/api/v1/reports/pipeline")).GetProperty("items").EnumerateArray().ToList();
        var pipelines = items.Select(i => i.GetProperty("pipelineName").GetString()).Distinct().ToList();
        pipelines.Count.ShouldBe(3);
        pipelines.Skip(1).ShouldBe(["Enterprise", "Partners"]);
        items.Where(i => i.GetProperty("pipelineName").GetString() == pipelines[0])
            .ShouldAllBe(i =>
                i.GetProperty("dealCount").GetInt32() == 0 && i.GetProperty("averageAgeDays").ValueKind == JsonValueKind.Null);

        var intro = items.Single(i => i.GetProperty("stageId").GetGuid() == _world.Stages["Intro"]);
        intro.GetProperty("dealCount").GetInt32().ShouldBe(2);
        Amounts(intro).ShouldBe(["GBP 1 250000 75000"]);
        items.ShouldNotContain(i => i.GetProperty("stageName").GetString() == "Won" || i.GetProperty("stageName").GetString() == "Lost");

        var sams = (await _world.GetAsync($"/api/v1/reports/pipeline?ownerId={_world.Sam}")).GetProperty("items").EnumerateArray();
        sams.Sum(i => i.GetProperty("dealCount").GetInt32()).ShouldBe(2);
        var none = (await _world.GetAsync("/api/v1/reports/pipeline?from=2026-01-06")).GetProperty("items").EnumerateArray();
        none.Sum(i => i.GetProperty("dealCount").GetInt32()).ShouldBe(0);
    }

    [Fact]
    public async Task Forecast_groups_open_deals_by_expected_close_month_and_won_deals_by_close_month_per_currency()
    {
        var report = await _world.GetAsync("/api/v1/reports/forecast");
        report.GetProperty("commitProbability").GetInt32().ShouldBe(90);
        Forecast(report).ShouldBe([
            "2026-01 EUR open 0/0 weighted 0 commit 0/800000 won 1/800000",
            "2026-01 GBP open 1/250000 weighted 75000 commit 0/0 won 0/0",
            "2026-01 USD open 0/0 weighted 0 commit 0/300000 won 1/300000",
            "2026-02 EUR open 1/2000000 weighted 1900000 commit 1/2400001 won 1/400001",
            "2026-02 USD open 1/500000 weighted 100000 commit 0/0 won 0/0",
        ]);

        Forecast(await _world.GetAsync("/api/v1/reports/forecast?commitProbability=20&from=2026-02-01&to=2026-02-28")).ShouldBe([
            "2026-02 EUR open 1/2000000 weighted 1900000 commit 1/2400001 won 1/400001",
            "2026-02 USD open 1/500000 weighted 100000 commit 1/500000 won 0/0",
        ]);
        Forecast(await _world.GetAsync($"/api/v1/reports/forecast?pipelineId={_world.Partners}")).ShouldBe([
            "2026-01 GBP open 1/250000 weighted 75000 commit 0/0 won 0/0",
            "2026-02 EUR open 0/0 weighted 0 commit 0/400001 won 1/400001",
        ]);
    }

    [Fact]
    public async Task Win_rate_counts_closed_deals_in_total_by_owner_pipeline_and_month_with_the_sales_cycle_of_won_deals()
    {
        var report = await _world.GetAsync("/api/v1/reports/win-rate");
        WinRate(report.GetProperty("total")).ShouldBe("3/1 0.75 20.33");
        var byOwner = report.GetProperty("byOwner").EnumerateArray().ToDictionary(r => r.GetProperty("ownerId").GetGuid(), WinRate);
        byOwner.Count.ShouldBe(2);
        byOwner[_world.Sam].ShouldBe("2/0 1 25.5");
        byOwner[_world.Rita].ShouldBe("1/1 0.5 10");
        var byPipeline = report.GetProperty("byPipeline").EnumerateArray()
            .ToDictionary(r => r.GetProperty("pipelineId").GetGuid(), WinRate);
        byPipeline.Count.ShouldBe(2);
        byPipeline[_world.Enterprise].ShouldBe("2/1 0.6667 15");
        byPipeline[_world.Partners].ShouldBe("1/0 1 31");
        report.GetProperty("byPeriod").EnumerateArray().Select(r => $"{r.GetProperty("period").GetString()} {WinRate(r)}")
            .ShouldBe(["2026-01 2/1 0.6667 15", "2026-02 1/0 1 31"]);

        WinRate((await _world.GetAsync($"/api/v1/reports/win-rate?ownerId={_world.Rita}")).GetProperty("total")).ShouldBe("1/1 0.5 10");
        WinRate((await _world.GetAsync($"/api/v1/reports/win-rate?pipelineId={_world.Partners}")).GetProperty("total"))
            .ShouldBe("1/0 1 31");
        WinRate((await _world.GetAsync("/api/v1/reports/win-rate?from=2026-01-16&to=2026-01-31")).GetProperty("total"))
            .ShouldBe("1/0 1 20");
        var empty = await _world.GetAsync("/api/v1/reports/win-rate?from=2027-01-01");
        WinRate(empty.GetProperty("total")).ShouldBe("0/0 null null");
        empty.GetProperty("byOwner").GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task Revenue_by_owner_credits_won_revenue_by_the_revenue_splits_and_the_owner_when_a_deal_has_none()
    {
        var report = await _world.GetAsync("/api/v1/reports/revenue-by-owner");
        Revenue(report).ShouldBe([
            $"EUR {_world.Sam} 2 613320 overlay 0/0",
            $"EUR {_world.Rita} 2 586681 overlay 0/0",
            $"EUR {_world.Olivia} 0 0 overlay 1/800000",
            $"USD {_world.Sam} 1 300000 overlay 0/0",
        ]);
        Totals(report).ShouldBe(["EUR 2 1200001", "USD 1 300000"]);

        var olivia = await _world.GetAsync($"/api/v1/reports/revenue-by-owner?ownerId={_world.Olivia}");
        Revenue(olivia).ShouldBe([$"EUR {_world.Olivia} 0 0 overlay 1/800000"]);
        var partners = await _world.GetAsync($"/api/v1/reports/revenue-by-owner?pipelineId={_world.Partners}");
        Revenue(partners).ShouldBe([$"EUR {_world.Rita} 1 266681 overlay 0/0", $"EUR {_world.Sam} 1 133320 overlay 0/0"]);
        Totals(partners).ShouldBe(["EUR 1 400001"]);
        var january = await _world.GetAsync("/api/v1/reports/revenue-by-owner?from=2026-01-01&to=2026-01-31");
        Totals(january).ShouldBe(["EUR 1 800000", "USD 1 300000"]);
    }

    [Fact]
    public async Task Activity_report_counts_activities_by_actor_and_type_and_meetings_by_member_attendee_per_iso_week()
    {
        Activity(await _world.GetAsync("/api/v1/reports/activity")).ShouldBe([
            $"2026-01-05 {_world.First} 2 call=1,email=1 meetings 1",
            $"2026-01-05 {_world.Second} 1 call=1 meetings 1",
            "2026-01-05 none 1 note=1 meetings 0",
            $"2026-01-12 {_world.Sam} 1 call=1 meetings 1",
        ]);
        Activity(await _world.GetAsync($"/api/v1/reports/activity?pipelineId={_world.Enterprise}")).ShouldBe([
            $"2026-01-05 {_world.First} 2 call=1,email=1 meetings 1",
            $"2026-01-05 {_world.Second} 1 call=1 meetings 1",
        ]);
        Activity(await _world.GetAsync($"/api/v1/reports/activity?ownerId={_world.Rita}"))
            .ShouldBe([$"2026-01-05 {_world.Rita} 1 call=1 meetings 1"]);
        Activity(await _world.GetAsync("/api/v1/reports/activity?from=2026-01-12&to=2026-01-18"))
            .ShouldBe([$"2026-01-12 {_world.Sam} 1 call=1 meetings 1"]);
    }

    [Fact]
    public async Task Reports_follow_renamed_reordered_and_deleted_stages_by_stage_id()
    {
        // An organization of its own, so the shared one keeps exactly the deals the other tests count.
        var user = await platform.CreateUserAsync();
        var org = await platform.CreateOrganizationAsync(members: [(user, OrgRole.Owner)], plan: Plan.Pro);
        var owner = _world.Api.ClientFor(user.Id, org.Slug);
        var created = await owner.PostAsJsonAsync("/api/v1/pipelines", new
        {
            name = "Scratch",
            stages = new object[]
            {
                new { name = "One", probability = 10, kind = "open" },
                new { name = "Two", probability = 40, kind = "open" },
                new { name = "Done", probability = 100, kind = "won" },
            },
        });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var pipeline = await created.Content.ReadFromJsonAsync<JsonElement>();
        var pipelineId = pipeline.GetProperty("id").GetGuid();
        var stages = pipeline.GetProperty("stages").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!,
            s => s.GetProperty("id").GetGuid());
        var deal = await OrgScopedEndpoints.CreateAsync(owner, "deals",
            new { name = "Scratch deal", amount = 1000, currency = "EUR", pipelineId, stageId = stages["Two"] });

        var etag = created.Headers.ETag!.Tag;
        var renamed = await Send(HttpMethod.Patch, $"/api/v1/pipelines/{pipelineId}/stages/{stages["Two"]}", "{\"name\":\"Second\"}", etag);
        var reordered = await Send(HttpMethod.Put, $"/api/v1/pipelines/{pipelineId}/stages/order",
            $"{{\"stageIds\":[\"{stages["Two"]}\",\"{stages["One"]}\",\"{stages["Done"]}\"]}}", renamed);
        var report = (await ReportsWorld.GetAsync(owner, $"/api/v1/reports/pipeline?pipelineId={pipelineId}")).GetProperty("items");
        report.EnumerateArray().Select(i => $"{i.GetProperty("stageId").GetGuid()} {i.GetProperty("stageName").GetString()} "
                + $"{i.GetProperty("position").GetInt32()} {i.GetProperty("dealCount").GetInt32()}")
            .ShouldBe([$"{stages["Two"]} Second 0 1", $"{stages["One"]} One 1 0"]);

        await Send(HttpMethod.Delete, $"/api/v1/pipelines/{pipelineId}/stages/{stages["Two"]}?targetStageId={stages["One"]}", null,
            reordered);
        (await PlatformEnvironment.CountRowsAsync(org, $"SELECT count(*) FROM deal_stage_history WHERE deal_id = '{deal}' "
            + $"AND from_stage_id = '{stages["Two"]}' AND to_stage_id = '{stages["One"]}'")).ShouldBe(1);
        var moved = (await ReportsWorld.GetAsync(owner, $"/api/v1/reports/pipeline?pipelineId={pipelineId}")).GetProperty("items");
        moved.GetArrayLength().ShouldBe(1);
        moved[0].GetProperty("stageId").GetGuid().ShouldBe(stages["One"]);
        moved[0].GetProperty("dealCount").GetInt32().ShouldBe(1);
        moved[0].GetProperty("averageAgeDays").GetDouble().ShouldBe(0);
        Amounts(moved[0]).ShouldBe(["EUR 1 1000 100"]);

        async Task<string> Send(HttpMethod method, string path, string? body, string ifMatch)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
            if (body is not null)
            {
                request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            }

            var response = await owner.SendAsync(request);
            ((int)response.StatusCode).ShouldBeLessThan(300, await response.Content.ReadAsStringAsync());
            return (await owner.GetAsync($"/api/v1/pipelines/{pipelineId}")).Headers.ETag!.Tag;
        }
    }

    public static TheoryData<string> Reports() => new(ReportsWorld.Paths);

    [Theory]
    [InlineData("pipelineId=not-a-uuid", "pipelineId", "bad_request")]
    [InlineData("ownerId=42", "ownerId", "bad_request")]
    [InlineData("from=yesterday", "from", "bad_request")]
    [InlineData("to=2026-02-30", "to", "bad_request")]
    [InlineData("from=2026-02-01&to=2026-01-31", "to", "validation_failed")]
    [InlineData("pipelineId=00000000-0000-0000-0000-000000000000", "pipelineId", "validation_failed")]
    [InlineData("pipelineId=0198a0a0-0000-7000-8000-000000000001", "pipelineId", "invalid_reference")]
    [InlineData("ownerId=0198a0a0-0000-7000-8000-000000000001", "ownerId", "invalid_reference")]
    public async Task A_bad_filter_is_a_400_naming_the_parameter_on_every_report(string parameters, string parameter, string code)
    {
        foreach (var path in ReportsWorld.Paths)
        {
            var problem = await Problem.ReadAsync(await _world.Client.GetAsync($"{path}?{parameters}"), HttpStatusCode.BadRequest);
            problem.Code.ShouldBe(code, problem.Detail);
            NamesParameter(problem, parameter).ShouldBeTrue($"{path}?{parameters}: {problem.Detail}");
        }
    }

    [Theory]
    [InlineData("commitProbability=101", "validation_failed")]
    [InlineData("commitProbability=-1", "validation_failed")]
    [InlineData("commitProbability=high", "bad_request")]
    public async Task A_bad_commit_probability_is_a_400_naming_it(string parameters, string code)
    {
        var problem = await Problem.ReadAsync(await _world.Client.GetAsync($"/api/v1/reports/forecast?{parameters}"),
            HttpStatusCode.BadRequest);
        problem.Code.ShouldBe(code, problem.Detail);
        NamesParameter(problem, "commitProbability").ShouldBeTrue(problem.Detail);
    }

    /// <summary>
    /// Validation problems name it in <c>errors</c>; a value of the wrong type is named in the binder's detail
    /// (<c>"Guid? PipelineId"</c>).
    /// </summary>
    private static bool NamesParameter(Problem problem, string parameter) =>
        problem.Errors?.ContainsKey(parameter) ?? problem.Detail.Contains($" {parameter}\"", StringComparison.OrdinalIgnoreCase);

    [Theory]
    [MemberData(nameof(Reports))]
    public async Task A_free_plan_gets_403_feature_disabled(string path)
    {
        var owner = await platform.CreateUserAsync();
        var free = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Free);
        var problem = await Problem.ReadAsync(await _world.Api.ClientFor(owner.Id, free.Slug).GetAsync(path), HttpStatusCode.Forbidden);
        problem.Code.ShouldBe("feature_disabled");
    }

    [Theory]
    [MemberData(nameof(Reports))]
    public async Task Another_orgs_pipeline_or_member_is_refused_and_reveals_nothing_of_it(string path)
    {
        var other = await _world.OtherOrgAsync(platform);
        foreach (var (parameter, id) in new[] { ("pipelineId", other.Pipeline), ("ownerId", other.Member) })
        {
            var response = await _world.Client.GetAsync($"{path}?{parameter}={id}");
            var body = await response.Content.ReadAsStringAsync();
            var problem = await Problem.ReadAsync(response, HttpStatusCode.BadRequest);
            problem.Errors!.ShouldContainKey(parameter);
            body.ShouldNotContain("Other pipeline");
        }

        // The other organization's own report holds its data only, never this one's.
        var theirs = await other.Client.GetAsync(path);
        var text = await theirs.Content.ReadAsStringAsync();
        theirs.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        foreach (var id in new[] { _world.Enterprise, _world.Partners, _world.Sam, _world.Rita, _world.Olivia })
        {
            text.ShouldNotContain(id.ToString());
        }
    }

    private static List<string> Amounts(JsonElement stage) => stage.GetProperty("amounts").EnumerateArray()
        .Select(a => $"{a.GetProperty("currency").GetString()} {a.GetProperty("dealCount").GetInt32()} "
            + $"{a.GetProperty("amount").GetInt64()} {a.GetProperty("weightedAmount").GetInt64()}")
        .ToList();

    private static List<string> Forecast(JsonElement report) => report.GetProperty("items").EnumerateArray()
        .Select(m => $"{m.GetProperty("month").GetString()} {m.GetProperty("currency").GetString()} "
            + $"open {m.GetProperty("openDealCount").GetInt32()}/{m.GetProperty("openAmount").GetInt64()} "
            + $"weighted {m.GetProperty("weightedAmount").GetInt64()} "
            + $"commit {m.GetProperty("commitDealCount").GetInt32()}/{m.GetProperty("committedAmount").GetInt64()} "
            + $"won {m.GetProperty("wonDealCount").GetInt32()}/{m.GetProperty("wonAmount").GetInt64()}")
        .ToList();

    private static string WinRate(JsonElement row) =>
        $"{row.GetProperty("won").GetInt32()}/{row.GetProperty("lost").GetInt32()} {Number(row.GetProperty("winRate"))} "
        + Number(row.GetProperty("averageSalesCycleDays"));

    private static string Number(JsonElement value) =>
        value.ValueKind == JsonValueKind.Null ? "null" : value.GetDouble().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static List<string> Revenue(JsonElement report) => report.GetProperty("items").EnumerateArray()
        .Select(r => $"{r.GetProperty("currency").GetString()} {r.GetProperty("memberId").GetGuid()} "
            + $"{r.GetProperty("dealCount").GetInt32()} {r.GetProperty("revenue").GetInt64()} "
            + $"overlay {r.GetProperty("overlayDealCount").GetInt32()}/{r.GetProperty("overlayRevenue").GetInt64()}")
        .ToList();

    private static List<string> Totals(JsonElement report) => report.GetProperty("totals").EnumerateArray()
        .Select(t =>
            $"{t.GetProperty("currency").GetString()} {t.GetProperty("dealCount").GetInt32()} {t.GetProperty("revenue").GetInt64()}")
        .ToList();

    private static List<string> Activity(JsonElement report) => report.GetProperty("items").EnumerateArray()
        .Select(w => $"{w.GetProperty("weekStart").GetString()} "
            + (w.GetProperty("memberId").ValueKind == JsonValueKind.Null ? "none" : w.GetProperty("memberId").GetGuid().ToString())
            + $" {w.GetProperty("activities").GetInt32()} "
            + string.Join(',', w.GetProperty("activitiesByType").EnumerateObject().Select(t => $"{t.Name}={t.Value.GetInt32()}"))
            + $" meetings {w.GetProperty("meetings").GetInt32()}")
        .ToList();

    /// <summary>
    /// The organization every report test reads. Timeline (UTC), t0 = Monday 2026-01-05 09:00:
    /// t0 create D1-D9 · t0+2d D3 to Propose at 95 % · t0+10d D4 won, D6 lost · t0+20d D5 won · t0+31d D7 won ·
    /// now = t0+35d. Enterprise (Qualify 20 %, Propose 60 %, Won, Lost) and Partners (Intro 30 %, Won, Lost).
    /// </summary>
    private sealed class ReportsWorld : IDisposable
    {
        public static readonly string[] Paths =
        [
            "/api/v1/reports/pipeline", "/api/v1/reports/forecast", "/api/v1/reports/win-rate",
            "/api/v1/reports/revenue-by-owner", "/api/v1/reports/activity",
        ];

        private static readonly DateTimeOffset T0 = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);
        private readonly SemaphoreSlim _otherLock = new(1, 1);
        private (HttpClient Client, Guid Pipeline, Guid Member)? _other;

        public required ApiFactory Api { get; init; }
        public required HttpClient Client { get; init; }
        public required Organization Org { get; init; }
        public required Guid Olivia { get; init; }
        public required Guid Sam { get; init; }
        public required Guid Rita { get; init; }
        public Guid Enterprise { get; private set; }
        public Guid Partners { get; private set; }
        public Dictionary<string, Guid> Stages { get; } = [];

        /// <summary>Sam and Rita in the order the activity report lists members of a week (by id).</summary>
        public Guid First => Sam.CompareTo(Rita) < 0 ? Sam : Rita;

        public Guid Second => Sam.CompareTo(Rita) < 0 ? Rita : Sam;

        public static async Task<ReportsWorld> CreateAsync(SharedPlatform platform)
        {
            var clock = new FakeTimeProvider(T0);
            var api = new ApiFactory(platform, services: services => services.AddSingleton<TimeProvider>(clock));
            var olivia = await platform.CreateUserAsync(name: "Olivia");
            var sam = await platform.CreateUserAsync(name: "Sam");
            var rita = await platform.CreateUserAsync(name: "Rita");
            var org = await platform.CreateOrganizationAsync(
                members: [(olivia, OrgRole.Owner), (sam, OrgRole.Member), (rita, OrgRole.Member)], plan: Plan.Pro);
            var world = new ReportsWorld
            {
                Api = api,
                Client = api.ClientFor(olivia.Id, org.Slug),
                Org = org,
                Olivia = olivia.Id,
                Sam = sam.Id,
                Rita = rita.Id,
            };
            await world.BuildAsync(clock);
            return world;
        }

        public Task<JsonElement> GetAsync(string path) => GetAsync(Client, path);

        public static async Task<JsonElement> GetAsync(HttpClient client, string path)
        {
            var response = await client.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.ShouldBe(HttpStatusCode.OK, $"{path}: {body}");
            return JsonDocument.Parse(body).RootElement.Clone();
        }

        /// <summary>A second Pro organization with its own pipeline, member and won deal.</summary>
        public async Task<(HttpClient Client, Guid Pipeline, Guid Member)> OtherOrgAsync(SharedPlatform platform)
        {
            await _otherLock.WaitAsync();
            try
            {
                if (_other is { } other)
                {
                    return other;
                }

                var owner = await platform.CreateUserAsync();
                var org = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
                var client = Api.ClientFor(owner.Id, org.Slug);
                var pipeline = await CreatePipelineAsync(client, "Other pipeline", ("Start", 50, "open"), ("Closed", 100, "won"));
                var deal = await OrgScopedEndpoints.CreateAsync(client, "deals",
                    new { name = "Other deal", amount = 999, currency = "EUR", ownerId = owner.Id, pipelineId = pipeline.Id });
                await MoveAsync(client, deal, pipeline.Stages["Closed"]);
                _other = (client, pipeline.Id, owner.Id);
                return _other.Value;
            }
            finally
            {
                _otherLock.Release();
            }
        }

        public void Dispose()
        {
            _otherLock.Dispose();
            Api.Dispose();
        }

        private async Task BuildAsync(FakeTimeProvider clock)
        {
            var enterprise = await CreatePipelineAsync(Client, "Enterprise",
                ("Qualify", 20, "open"), ("Propose", 60, "open"), ("Won", 100, "won"), ("Lost", 0, "lost"));
            var partners = await CreatePipelineAsync(Client, "Partners", ("Intro", 30, "open"), ("Won", 100, "won"), ("Lost", 0, "lost"));
            (Enterprise, Partners) = (enterprise.Id, partners.Id);
            foreach (var name in new[] { "Qualify", "Propose" })
            {
                Stages[name] = enterprise.Stages[name];
            }

            Stages["Intro"] = partners.Stages["Intro"];
            var company = await OrgScopedEndpoints.CreateAsync(Client, "companies", new { name = "Buyer" });

            // t0: every deal is created.
            var d1 = await Deal("D1", Enterprise, Sam, 1_000_000, "EUR", null);
            var d2 = await Deal("D2", Enterprise, Sam, 500_000, "USD", "2026-02-15");
            var d3 = await Deal("D3", Enterprise, Rita, 2_000_000, "EUR", "2026-02-20");
            var d4 = await Deal("D4", Enterprise, Rita, 800_000, "EUR", "2026-01-31");
            var d5 = await Deal("D5", Enterprise, Sam, 300_000, "USD", "2026-01-31");
            var d6 = await Deal("D6", Enterprise, Rita, 100_000, "EUR", "2026-01-31");
            var d7 = await Deal("D7", Partners, Sam, 400_001, "EUR", "2026-02-28");
            await OrgScopedEndpoints.CreateAsync(Client, "deals", new { name = "D8", pipelineId = Partners, ownerId = Olivia });
            await Deal("D9", Partners, Rita, 250_000, "GBP", "2026-01-31");
            await Splits(d4, (Sam, 60m, "revenue"), (Rita, 40m, "revenue"), (Olivia, 100m, "overlay"));
            await Splits(d7, (Sam, 33.33m, "revenue"), (Rita, 66.67m, "revenue"));

            await Activity("call", Sam, d1, "2026-01-05T10:00:00Z");
            await Activity("email", Sam, d1, "2026-01-06T10:00:00Z");
            await Activity("call", Sam, d7, "2026-01-12T08:00:00Z");
            await Activity("call", Rita, d3, "2026-01-11T23:30:00Z");
            await OrgScopedEndpoints.CreateAsync(Client, "activities",
                new { type = "note", companyId = company, occurredAt = "2026-01-07T12:00:00Z" });
            await OrgScopedEndpoints.CreateAsync(Client, "meetings", new
            {
                title = "Demo",
                startsAt = "2026-01-08T15:00:00Z",
                dealId = d1,
                attendees = new object[]
                {
                    new { email = "sam@example.com", memberId = Sam },
                    new { email = "rita@example.com", memberId = Rita },
                    new { email = "buyer@example.com" },
                },
            });
            await OrgScopedEndpoints.CreateAsync(Client, "meetings", new
            {
                title = "Partner sync",
                startsAt = "2026-01-13T09:00:00Z",
                dealId = d7,
                attendees = new object[] { new { email = "sam@example.com", memberId = Sam } },
            });

            clock.SetUtcNow(T0.AddDays(2));
            await MoveAsync(Client, d3, Stages["Propose"]);
            var patched = await Client.PatchAsync($"/api/v1/deals/{d3}",
                new StringContent("{\"probability\":95}", System.Text.Encoding.UTF8, "application/json"));
            patched.StatusCode.ShouldBe(HttpStatusCode.OK, await patched.Content.ReadAsStringAsync());

            clock.SetUtcNow(T0.AddDays(10));
            await MoveAsync(Client, d4, enterprise.Stages["Won"]);
            await MoveAsync(Client, d6, enterprise.Stages["Lost"]);
            clock.SetUtcNow(T0.AddDays(20));
            await MoveAsync(Client, d5, enterprise.Stages["Won"]);
            clock.SetUtcNow(T0.AddDays(31));
            await MoveAsync(Client, d7, partners.Stages["Won"]);
            clock.SetUtcNow(T0.AddDays(35));
            _ = d2;

            async Task<Guid> Deal(string name, Guid pipelineId, Guid ownerId, long amount, string currency, string? expectedCloseDate) =>
                await OrgScopedEndpoints.CreateAsync(Client, "deals",
                    new { name, pipelineId, ownerId, amount, currency, expectedCloseDate });

            async Task Splits(Guid deal, params (Guid Member, decimal Percent, string Type)[] splits)
            {
                var response = await Client.PutAsJsonAsync($"/api/v1/deals/{deal}/splits",
                    splits.Select(s => new { memberId = s.Member, percent = s.Percent, type = s.Type }));
                response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            }

            async Task Activity(string type, Guid actorId, Guid dealId, string occurredAt) =>
                await OrgScopedEndpoints.CreateAsync(Client, "activities", new { type, actorId, dealId, occurredAt });
        }

        private static async Task<(Guid Id, Dictionary<string, Guid> Stages)> CreatePipelineAsync(
            HttpClient client, string name, params (string Name, int Probability, string Kind)[] stages)
        {
            var response = await client.PostAsJsonAsync("/api/v1/pipelines",
                new { name, stages = stages.Select(s => new { name = s.Name, probability = s.Probability, kind = s.Kind }) });
            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.ShouldBe(HttpStatusCode.Created, body);
            var pipeline = JsonDocument.Parse(body).RootElement;
            return (pipeline.GetProperty("id").GetGuid(), pipeline.GetProperty("stages").EnumerateArray()
                .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("id").GetGuid()));
        }

        private static async Task MoveAsync(HttpClient client, Guid deal, Guid stageId)
        {
            var response = await client.PostAsJsonAsync($"/api/v1/deals/{deal}/move", new { stageId });
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }
    }
}
