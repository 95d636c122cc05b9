using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CleanCrm.Application.Proposals;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Ai;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Ai;

/// <summary>
/// <c>POST /api/v1/deals/{id}/proposals</c>, the generation job and <c>GET /api/v1/proposals/{id}</c> against the real API,
/// tenant databases and the OpenAI-compatible <see cref="OpenAiStub"/> (docs/AI.md, "Proposals").
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class ProposalApiTests(SharedPlatform platform) : IAsyncLifetime
{
    private const string UntrustedMarkdown =
        "# Proposal for Acme\n\n**Scope**: rollout to 3 teams. See [our site](https://example.com/plan).\n\n"
        + "<script>alert('x')</script>\n\n<img src=\"x\" onerror=\"alert(1)\">\n\n[click me](javascript:alert(1))\n";

    private AiIntegrationsHost _host = null!;

    private OpenAiStub Stub => _host.Stub;

    private ApiFactory Api => _host.Api;

    public async Task InitializeAsync() => _host = await AiIntegrationsHost.SharedAsync(platform);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_proposal_is_drafted_from_the_orgs_deal_data_stored_sanitised_and_charged_once_even_when_the_job_runs_again()
    {
        var (_, org, client) = await ProOrgAsync();
        var (_, _, otherClient) = await ProOrgAsync();
        var company = await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Acme Rockets", industry = "Aerospace" });
        var contact = await OrgScopedEndpoints.CreateAsync(client, "contacts",
            new { firstName = "Grace", lastName = "Buyer", jobTitle = "CTO", companyId = company });
        var deal = await OrgScopedEndpoints.CreateAsync(client, "deals",
            new { name = "Acme rollout", amount = 1_234_500, currency = "EUR", companyId = company, primaryContactId = contact });
        var meeting = await OrgScopedEndpoints.CreateAsync(client, "meetings",
            new { title = "Discovery call", startsAt = "2026-11-02T10:00:00Z", dealId = deal });
        await ExecuteAsync(org, $"UPDATE meetings SET summary = 'They need SSO before go-live.' WHERE id = '{meeting}'");
        await OrgScopedEndpoints.CreateAsync(otherClient, "deals", new { name = "Foreign secret merger", amount = 9, currency = "USD" });
        (await client.PutAsJsonAsync("/api/v1/proposals/template", new { markdown = "# Our house template\n## Price" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        var trigger = Trigger();
        Stub.Script(trigger, UntrustedMarkdown);

        var response = await client.PostAsJsonAsync($"/api/v1/deals/{deal}/proposals", new { instructions = $"{trigger} Keep it short." });
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, accepted.ToString());
        var id = accepted.GetProperty("id").GetGuid();
        response.Headers.Location!.ToString().ShouldBe($"/api/v1/proposals/{id}");
        accepted.GetProperty("status").GetString().ShouldBe("pending");
        accepted.GetProperty("dealId").GetGuid().ShouldBe(deal);
        QueuedProposalJobs(id).ShouldBe(1);
        Stub.RequestsFor(trigger).ShouldBeEmpty("the model is called by the job, not the request");

        var job = Api.Services.GetRequiredService<ProposalGenerationJob>();
        await job.RunAsync(org.Id, id, CancellationToken.None);

        var proposal = await client.GetFromJsonAsync<JsonElement>($"/api/v1/proposals/{id}");
        proposal.GetProperty("status").GetString().ShouldBe("ready", proposal.ToString());
        proposal.GetProperty("markdown").GetString().ShouldBe(UntrustedMarkdown.Trim());
        proposal.GetProperty("inputTokens").GetInt64().ShouldBe(OpenAiStub.PromptTokens);
        proposal.GetProperty("outputTokens").GetInt64().ShouldBe(OpenAiStub.CompletionTokens);
        var html = proposal.GetProperty("html").GetString()!;
        html.ShouldContain("<h1");
        html.ShouldContain("<strong>Scope</strong>");
        html.ShouldContain("href=\"https://example.com/plan\"");
        html.ShouldNotContain("<script", Case.Insensitive);
        html.ShouldNotContain("alert('x')");
        html.ShouldNotContain("onerror", Case.Insensitive);
        html.ShouldNotContain("javascript:", Case.Insensitive);

        // What the model was sent: this org's deal, company, contact, meeting summary and template; nothing of the other org.
        var sent = Stub.RequestsFor(trigger).ShouldHaveSingleItem();
        var prompt = sent["messages"]!.ToJsonString();
        foreach (var fact in new[] { "Acme rollout", "12,345.00 EUR", "Acme Rockets", "Grace Buyer", "CTO", "SSO before go-live",
                     "Our house template" })
        {
            prompt.ShouldContain(fact);
        }

        prompt.ShouldNotContain("Foreign secret merger");
        prompt.ShouldNotContain(OpenAiStub.ApiKey);
        sent["max_tokens"]?.GetValue<int>().ShouldBe(2000);
        (await UsageAsync(client)).ShouldBe(OpenAiStub.PromptTokens + OpenAiStub.CompletionTokens);

        // A retried (or duplicated) job finds the proposal finished: no second call, charge or write.
        await job.RunAsync(org.Id, id, CancellationToken.None);
        Stub.RequestsFor(trigger).Count.ShouldBe(1);
        (await UsageAsync(client)).ShouldBe(OpenAiStub.PromptTokens + OpenAiStub.CompletionTokens);
        (await client.GetFromJsonAsync<JsonElement>($"/api/v1/proposals/{id}")).GetProperty("updatedAt").GetDateTimeOffset()
            .ShouldBe(proposal.GetProperty("updatedAt").GetDateTimeOffset());
        await using (var catalog = await platform.CatalogAsync())
        {
            var usage = (await catalog.UsageEvents.AsNoTracking().Where(e => e.OrganizationId == org.Id).ToListAsync())
                .ShouldHaveSingleItem();
            usage.Quantity.ShouldBe(OpenAiStub.PromptTokens + OpenAiStub.CompletionTokens);
            usage.SettleBy.ShouldBeNull("the reservation was settled");
        }

        var list = await client.GetFromJsonAsync<JsonElement>($"/api/v1/deals/{deal}/proposals");
        var item = list.GetProperty("items").EnumerateArray().ShouldHaveSingleItem();
        item.GetProperty("id").GetGuid().ShouldBe(id);
        item.GetProperty("status").GetString().ShouldBe("ready");
        item.TryGetProperty("markdown", out _).ShouldBeFalse();
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM proposals")).ShouldBe(1);
    }

    [Fact]
    public async Task A_failing_provider_marks_the_proposal_failed_and_releases_the_reservation()
    {
        var (_, org, client) = await ProOrgAsync();
        var deal = await OrgScopedEndpoints.CreateAsync(client, "deals", new { name = "Pilot" });
        var trigger = Trigger();
        Stub.Script(trigger, "unused", failWith: 400);

        var response = await client.PostAsJsonAsync($"/api/v1/deals/{deal}/proposals", new { instructions = trigger });
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await Api.Services.GetRequiredService<ProposalGenerationJob>().RunAsync(org.Id, id, CancellationToken.None);

        var proposal = await client.GetFromJsonAsync<JsonElement>($"/api/v1/proposals/{id}");
        proposal.GetProperty("status").GetString().ShouldBe("failed");
        proposal.GetProperty("error").GetString()!.ShouldNotContain("The stub was told to fail.");
        proposal.GetProperty("markdown").ValueKind.ShouldBe(JsonValueKind.Null);
        Stub.RequestsFor(trigger).ShouldNotBeEmpty();
        (await UsageAsync(client)).ShouldBe(0);
    }

    [Fact]
    public async Task A_provider_failing_for_a_while_sends_the_proposal_back_to_pending_for_the_jobs_retries_and_it_is_drafted_once()
    {
        var (_, org, client) = await ProOrgAsync();
        var deal = await OrgScopedEndpoints.CreateAsync(client, "deals", new { name = "Flaky provider" });
        var trigger = Trigger();
        Stub.Script(trigger, "unused", failWith: 503);
        var response = await client.PostAsJsonAsync($"/api/v1/deals/{deal}/proposals", new { instructions = trigger });
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var job = Api.Services.GetRequiredService<ProposalGenerationJob>();

        // A transient failure: the job throws (so Hangfire retries it on its schedule), the proposal is pending again and
        // its reservation released.
        await Should.ThrowAsync<ProposalRetryException>(() => job.RunAsync(org.Id, id, CancellationToken.None));
        var waiting = await client.GetFromJsonAsync<JsonElement>($"/api/v1/proposals/{id}");
        waiting.GetProperty("status").GetString().ShouldBe("pending");
        waiting.GetProperty("markdown").ValueKind.ShouldBe(JsonValueKind.Null);
        (await UsageAsync(client)).ShouldBe(0);

        // The provider is back: the retry drafts it, charged once.
        Stub.Script(trigger, "# Proposal\n\nDrafted after the outage.");
        await job.RunAsync(org.Id, id, CancellationToken.None);
        var ready = await client.GetFromJsonAsync<JsonElement>($"/api/v1/proposals/{id}");
        ready.GetProperty("status").GetString().ShouldBe("ready");
        ready.GetProperty("markdown").GetString()!.ShouldContain("Drafted after the outage.");
        (await UsageAsync(client)).ShouldBe(OpenAiStub.PromptTokens + OpenAiStub.CompletionTokens);
        Stub.RequestsFor(trigger).Count.ShouldBe(2);
    }

    [Fact]
    public async Task A_provider_failing_on_every_attempt_fails_the_proposal_after_the_last_one()
    {
        var (_, org, client) = await ProOrgAsync();
        var deal = await OrgScopedEndpoints.CreateAsync(client, "deals", new { name = "Provider down" });
        var trigger = Trigger();
        Stub.Script(trigger, "unused", failWith: 500);
        var response = await client.PostAsJsonAsync($"/api/v1/deals/{deal}/proposals", new { instructions = trigger });
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var job = Api.Services.GetRequiredService<ProposalGenerationJob>();

        for (var attempt = 1; attempt < ProposalGenerator.MaxProviderAttempts; attempt++)
        {
            await Should.ThrowAsync<ProposalRetryException>(() => job.RunAsync(org.Id, id, CancellationToken.None));
        }

        await job.RunAsync(org.Id, id, CancellationToken.None);
        var proposal = await client.GetFromJsonAsync<JsonElement>($"/api/v1/proposals/{id}");
        proposal.GetProperty("status").GetString().ShouldBe("failed");
        Stub.RequestsFor(trigger).Count.ShouldBe(ProposalGenerator.MaxProviderAttempts);
        (await UsageAsync(client)).ShouldBe(0);
    }

    [Fact]
    public async Task Feature_off_is_403_no_provider_is_503_and_a_used_up_allowance_is_402_with_nothing_stored()
    {
        var owner = await platform.CreateUserAsync();
        var free = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var pro = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var freeClient = Api.ClientFor(owner.Id, free.Slug);
        var freeDeal = await OrgScopedEndpoints.CreateAsync(freeClient, "deals", new { name = "Free deal" });
        var disabled = await Problem.ReadAsync(await freeClient.PostAsJsonAsync($"/api/v1/deals/{freeDeal}/proposals", new { }),
            HttpStatusCode.Forbidden);
        disabled.Code.ShouldBe("feature_disabled");
        disabled.Detail.ShouldContain("proposals");
        (await Problem.ReadAsync(await freeClient.GetAsync("/api/v1/proposals/template"), HttpStatusCode.Forbidden)).Code
            .ShouldBe("feature_disabled");

        var unconfigured = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var proClient = unconfigured.ClientFor(owner.Id, pro.Slug);
        var deal = await OrgScopedEndpoints.CreateAsync(proClient, "deals", new { name = "Pro deal" });
        var missing = await Problem.ReadAsync(await proClient.PostAsJsonAsync($"/api/v1/deals/{deal}/proposals", new { }),
            HttpStatusCode.ServiceUnavailable);
        missing.Type.ShouldBe("https://cleancrm.dev/problems/ai_not_configured");

        // An allowance smaller than the answer's cap (2,000 tokens) cannot hold a proposal.
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        using var adminClient = Api.CreateClient();
        adminClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={admin.Id};admin");
        (await adminClient.PutAsJsonAsync($"/api/v1/admin/organizations/{pro.Id}/limits", new { aiTokensPerMonth = 500 }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        var limited = await Problem.ReadAsync(
            await Api.ClientFor(owner.Id, pro.Slug).PostAsJsonAsync($"/api/v1/deals/{deal}/proposals", new { }),
            HttpStatusCode.PaymentRequired);
        limited.Type.ShouldBe("https://cleancrm.dev/problems/plan_limit_reached");
        (await PlatformEnvironment.CountRowsAsync(pro, "SELECT count(*) FROM proposals")).ShouldBe(0);
    }

    [Fact]
    public async Task Bad_input_is_a_4xx_problem_naming_what_was_wrong_and_stores_nothing()
    {
        var (_, org, client) = await ProOrgAsync();
        var deal = await OrgScopedEndpoints.CreateAsync(client, "deals", new { name = "Checked" });
        var unknown = Guid.NewGuid();

        (await Problem.ReadAsync(await client.PostAsJsonAsync($"/api/v1/deals/{unknown}/proposals", new { }), HttpStatusCode.NotFound))
            .Detail.ShouldContain(unknown.ToString());
        (await Problem.ReadAsync(await client.PostAsJsonAsync($"/api/v1/deals/{deal}/proposals",
            new { instructions = new string('x', 2001) }), HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("instructions");
        (await Problem.ReadAsync(await client.PostAsync($"/api/v1/deals/{deal}/proposals",
            new StringContent("{\"instructions\":", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest)).Code
            .ShouldBe("bad_request");
        (await Problem.ReadAsync(await client.PostAsync($"/api/v1/deals/{deal}/proposals",
            new StringContent("{\"instructions\":42}", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest)).Code
            .ShouldBe("bad_request");
        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/proposals/{unknown}"), HttpStatusCode.NotFound))
            .Detail.ShouldContain(unknown.ToString());
        await Problem.ReadAsync(await client.GetAsync($"/api/v1/deals/{unknown}/proposals"), HttpStatusCode.NotFound);
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM proposals")).ShouldBe(0);

        var initial = await client.GetFromJsonAsync<JsonElement>("/api/v1/proposals/template");
        initial.GetProperty("isDefault").GetBoolean().ShouldBeTrue();
        initial.GetProperty("markdown").GetString()!.ShouldContain("## Scope");
        (await Problem.ReadAsync(await client.PutAsJsonAsync("/api/v1/proposals/template", new { markdown = new string('#', 20_001) }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("markdown");
        (await Problem.ReadAsync(await client.PutAsJsonAsync("/api/v1/proposals/template", new { markdown = " " }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("markdown");
        (await Problem.ReadAsync(await client.PutAsJsonAsync("/api/v1/proposals/template", new { }), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("markdown");
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM proposal_templates")).ShouldBe(0);

        var saved = await client.PutAsJsonAsync("/api/v1/proposals/template", new { markdown = "# Ours" });
        saved.StatusCode.ShouldBe(HttpStatusCode.OK);
        var read = await client.GetFromJsonAsync<JsonElement>("/api/v1/proposals/template");
        read.GetProperty("isDefault").GetBoolean().ShouldBeFalse();
        read.GetProperty("markdown").GetString().ShouldBe("# Ours");
    }

    [Fact]
    public async Task Another_orgs_deal_and_proposal_are_not_found_and_its_header_or_client_is_refused()
    {
        var owner = await platform.CreateUserAsync();
        var stranger = await platform.CreateUserAsync();
        var org = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        var other = await platform.CreateOrganizationAsync(members: [(stranger, OrgRole.Owner)], plan: Plan.Pro);
        var mine = Api.ClientFor(owner.Id, org.Slug);
        var deal = await OrgScopedEndpoints.CreateAsync(mine, "deals", new { name = "Private deal" });
        var trigger = Trigger();
        Stub.Script(trigger, "# Private proposal");
        var created = await mine.PostAsJsonAsync($"/api/v1/deals/{deal}/proposals", new { instructions = trigger });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        (await mine.PutAsJsonAsync("/api/v1/proposals/template", new { markdown = "# Private template" })).EnsureSuccessStatusCode();

        var strangerClient = Api.ClientFor(stranger.Id, other.Slug);
        (await Problem.ReadAsync(await strangerClient.GetAsync($"/api/v1/proposals/{id}"), HttpStatusCode.NotFound))
            .Detail.ShouldContain(id.ToString());
        await Problem.ReadAsync(await strangerClient.GetAsync($"/api/v1/deals/{deal}/proposals"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await strangerClient.PostAsJsonAsync($"/api/v1/deals/{deal}/proposals", new { }), HttpStatusCode.NotFound);
        (await strangerClient.GetFromJsonAsync<JsonElement>("/api/v1/proposals/template")).GetProperty("isDefault").GetBoolean()
            .ShouldBeTrue();
        // Naming the org without being a member is not found; an org-bound client of the other org is refused.
        await Problem.ReadAsync(await Api.ClientFor(stranger.Id, org.Slug).GetAsync($"/api/v1/proposals/{id}"), HttpStatusCode.NotFound);
        await Problem.ReadAsync(await Api.ClientFor(stranger.Id, org.Slug, orgClaim: other.Id, role: "admin")
            .GetAsync($"/api/v1/proposals/{id}"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await Api.ClientFor(stranger.Id, org.Slug, orgClaim: other.Id, role: "admin")
            .PutAsJsonAsync("/api/v1/proposals/template", new { markdown = "# Hijacked" }), HttpStatusCode.Forbidden);

        (await PlatformEnvironment.CountRowsAsync(other, "SELECT count(*) FROM proposals")).ShouldBe(0);
        (await PlatformEnvironment.CountRowsAsync(org, "SELECT count(*) FROM proposals")).ShouldBe(1);
        (await mine.GetFromJsonAsync<JsonElement>("/api/v1/proposals/template")).GetProperty("markdown").GetString()
            .ShouldBe("# Private template");
    }

    private async Task<(UserAccount Owner, Organization Org, HttpClient Client)> ProOrgAsync()
    {
        var owner = await platform.CreateUserAsync();
        var org = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], plan: Plan.Pro);
        return (owner, org, Api.ClientFor(owner.Id, org.Slug));
    }

    private int QueuedProposalJobs(Guid proposalId) =>
        Api.Services.GetRequiredService<JobStorage>().GetMonitoringApi()
            .EnqueuedJobs(HangfireStorage.DefaultQueue, 0, 10000).Select(j => j.Value.Job)
            .Count(j => j?.Type == typeof(ProposalGenerationJob) && Equals(j.Args[1], proposalId));

    private static string Trigger() => $"t{Guid.NewGuid():N}";

    private static async Task ExecuteAsync(Organization org, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(org));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> UsageAsync(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements"))
            .GetProperty("usage").GetProperty("aiTokens").GetInt64();
}
