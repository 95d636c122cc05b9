using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Integrations.Enrichment;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using SkiaSharp;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>
/// Company enrichment end to end: saving a company with a domain queues the job, the job reads the (stubbed) site through the
/// SSRF-safe fetcher and stores a thumbnail, and <c>GET /api/v1/companies/{id}/logo</c> serves it with an ETag.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class CompanyEnrichmentTests(SharedPlatform platform)
{
    private Task<EnrichmentHost> HostAsync() =>
        platform.SharedAsync("enrichment-host", () => Task.FromResult(new EnrichmentHost(platform)));

    [Fact]
    public async Task Saving_a_domain_queues_enrichment_once_committed_and_the_logo_is_served_with_an_etag()
    {
        var host = await HostAsync();
        var (organization, client) = await OrgAsync();
        var domain = $"acme-{Guid.NewGuid():N}.example";
        host.Site(domain, $"""
            <html><head><title> Acme Rockets </title><meta name="description" content="Rockets for everyone">
            <link rel="icon" href="/sites/{domain}/small.png" sizes="16x16">
            <link rel="apple-touch-icon" href="apple.png" sizes="180x180"></head><body>Hi</body></html>
            """);
        host.Image($"/sites/{domain}/apple.png", "image/png", Png(300, 150));
        host.Image($"/sites/{domain}/small.png", "image/png", Png(16, 16));

        var company = await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Acme", domain });
        host.QueuedFor(company).ShouldBe([domain], "creating a company with a domain queues its enrichment once");
        var before = await client.GetAsync($"/api/v1/companies/{company}/logo");
        (await Problem.ReadAsync(before, HttpStatusCode.NotFound)).Detail.ShouldContain("has no logo");
        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/companies/{company}/enrichment"), HttpStatusCode.NotFound))
            .Detail.ShouldContain("has not been enriched");

        var job = host.Api.Services.GetRequiredService<CompanyEnrichmentJob>();
        (await job.RunAsync(organization.Id, company, domain, CancellationToken.None)).ShouldBeTrue();
        (await job.RunAsync(organization.Id, company, domain, CancellationToken.None)).ShouldBeFalse("the same domain is enriched once");
        host.Requests($"/sites/{domain}/").ShouldBe(1);

        var logo = await client.GetAsync($"/api/v1/companies/{company}/logo");
        logo.StatusCode.ShouldBe(HttpStatusCode.OK);
        logo.Content.Headers.ContentType!.MediaType.ShouldBe("image/png");
        logo.Headers.CacheControl!.Private.ShouldBeTrue();
        var etag = logo.Headers.ETag.ShouldNotBeNull();
        using (var bitmap = SKBitmap.Decode(await logo.Content.ReadAsByteArrayAsync()))
        {
            bitmap.ShouldNotBeNull("a PNG is served");
            (bitmap.Width, bitmap.Height).ShouldBe((128, 64), "the 300x150 apple-touch-icon, resized to 128 px, aspect kept");
        }

        var found = await client.GetFromJsonAsync<JsonElement>($"/api/v1/companies/{company}/enrichment");
        (found.GetProperty("domain").GetString(), found.GetProperty("status").GetString(), found.GetProperty("title").GetString(),
                found.GetProperty("description").GetString(), found.GetProperty("hasLogo").GetBoolean())
            .ShouldBe((domain, "enriched", "Acme Rockets", "Rockets for everyone", true));
        found.GetProperty("failure").ValueKind.ShouldBe(JsonValueKind.Null);

        using var revalidate = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/companies/{company}/logo");
        revalidate.Headers.IfNoneMatch.Add(etag);
        var notModified = await client.SendAsync(revalidate);
        notModified.StatusCode.ShouldBe(HttpStatusCode.NotModified);
        (await notModified.Content.ReadAsByteArrayAsync()).ShouldBeEmpty();
        using var stale = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/companies/{company}/logo");
        stale.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"0123\""));
        (await client.SendAsync(stale)).StatusCode.ShouldBe(HttpStatusCode.OK);

        await using var tenant = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await tenant.OpenAsync();
        (await ScalarAsync(tenant,
                $"SELECT status || '|' || title || '|' || description FROM company_enrichments WHERE company_id = '{company}'"))
            .ShouldBe("enriched|Acme Rockets|Rockets for everyone");
        ((string)(await ScalarAsync(tenant, $"SELECT logo_source_url FROM company_enrichments WHERE company_id = '{company}'"))!)
            .ShouldEndWith($"/sites/{domain}/apple.png");

        // A patch that leaves the domain alone queues nothing; a new domain is queued and the old logo stops being served.
        (await client.PatchAsJsonAsync($"/api/v1/companies/{company}", new { industry = "Aerospace" })).EnsureSuccessStatusCode();
        host.QueuedFor(company).ShouldBe([domain]);
        var moved = $"acme-moved-{Guid.NewGuid():N}.example";
        (await client.PatchAsJsonAsync($"/api/v1/companies/{company}", new { domain = moved })).EnsureSuccessStatusCode();
        host.QueuedFor(company).Order().ShouldBe(new[] { domain, moved }.Order());
        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/companies/{company}/logo"), HttpStatusCode.NotFound))
            .Detail.ShouldContain("has no logo");
        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/companies/{company}/enrichment"), HttpStatusCode.NotFound))
            .Detail.ShouldContain("has not been enriched", customMessage: "the old domain's title is not shown for the new one");
        (await job.RunAsync(organization.Id, company, domain, CancellationToken.None))
            .ShouldBeFalse("a job for a domain the company no longer has does nothing");
    }

    [Fact]
    public async Task A_company_without_a_domain_queues_nothing_and_a_bad_domain_is_refused_with_nothing_queued()
    {
        var host = await HostAsync();
        var (organization, client) = await OrgAsync();
        var plain = await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "No web" });
        host.QueuedFor(plain).ShouldBeEmpty();

        var bad = await client.PostAsJsonAsync("/api/v1/companies", new { name = "Bad", domain = "http://169.254.169.254/latest" });
        (await Problem.ReadAsync(bad, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("domain");
        (await PlatformEnvironment.CountRowsAsync(organization, "SELECT count(*) FROM companies WHERE name = 'Bad'")).ShouldBe(0);
        var patch = await client.PatchAsJsonAsync($"/api/v1/companies/{plain}", new { domain = "file:///etc/passwd" });
        (await Problem.ReadAsync(patch, HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("domain");
        host.QueuedFor(plain).ShouldBeEmpty();
    }

    public static TheoryData<string, string, string> BadImages() => new()
    {
        // name, what the icon URL answers, failure recorded
        { "not an image", "png-text", "not_an_image" },
        { "wrong content type", "html", "content_type" },
        { "too many bytes", "big", "too_large" },
        { "too many pixels", "wide", "image_too_large" },
        { "svg", "svg", "content_type" },
    };

    [Theory]
    [MemberData(nameof(BadImages))]
    public async Task A_bad_image_is_refused_and_recorded_and_the_logo_stays_404(string name, string kind, string failure)
    {
        var host = await HostAsync();
        var (organization, client) = await OrgAsync();
        var domain = $"bad-{kind}-{Guid.NewGuid():N}.example";
        host.Site(domain, $"<html><head><title>{name}</title><link rel=\"icon\" href=\"icon\"></head></html>");
        var icon = $"/sites/{domain}/icon";
        switch (kind)
        {
            case "png-text":
                host.Image(icon, "image/png", "this is not a PNG at all"u8.ToArray());
                break;
            case "html":
                host.Image(icon, "text/html", "<html>an error page</html>"u8.ToArray());
                break;
            case "big":
                host.Image(icon, "image/png", new byte[EnrichmentHost.MaxBytes + 1]);
                break;
            case "wide":
                host.Image(icon, "image/png", Png(EnrichmentHost.MaxSourcePixels + 1, 2));
                break;
            default:
                host.Image(icon, "image/svg+xml", "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"u8.ToArray());
                break;
        }

        var company = await OrgScopedEndpoints.CreateAsync(client, "companies", new { name, domain });
        var job = host.Api.Services.GetRequiredService<CompanyEnrichmentJob>();
        (await job.RunAsync(organization.Id, company, domain, CancellationToken.None)).ShouldBeTrue();

        await using var tenant = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await tenant.OpenAsync();
        (await ScalarAsync(tenant,
                $"SELECT status || '|' || failure || '|' || (logo IS NULL) FROM company_enrichments WHERE company_id = '{company}'"))
            .ShouldBe($"enriched|{failure}|true", name);
        (await Problem.ReadAsync(await client.GetAsync($"/api/v1/companies/{company}/logo"), HttpStatusCode.NotFound))
            .Detail.ShouldContain("has no logo");
        (await client.GetAsync($"/api/v1/companies/{company}")).StatusCode.ShouldBe(HttpStatusCode.OK, "the company itself is fine");
    }

    [Fact]
    public async Task An_unreachable_site_is_recorded_as_failed_without_a_logo()
    {
        var host = await HostAsync();
        var (organization, client) = await OrgAsync();
        var domain = $"gone-{Guid.NewGuid():N}.example";
        var company = await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Gone", domain });
        (await host.Api.Services.GetRequiredService<CompanyEnrichmentJob>()
            .RunAsync(organization.Id, company, domain, CancellationToken.None)).ShouldBeTrue();
        await using var tenant = new NpgsqlConnection(PlatformEnvironment.TenantAdminConnectionString(organization));
        await tenant.OpenAsync();
        (await ScalarAsync(tenant, $"SELECT status || '|' || failure FROM company_enrichments WHERE company_id = '{company}'"))
            .ShouldBe("failed|unreachable");
        await Problem.ReadAsync(await client.GetAsync($"/api/v1/companies/{company}/logo"), HttpStatusCode.NotFound);
        var failed = await client.GetFromJsonAsync<JsonElement>($"/api/v1/companies/{company}/enrichment");
        (failed.GetProperty("status").GetString(), failed.GetProperty("failure").GetString(), failed.GetProperty("hasLogo").GetBoolean())
            .ShouldBe(("failed", "unreachable", false));
    }

    [Fact]
    public async Task Another_orgs_company_logo_is_not_found_even_with_a_logo_stored()
    {
        var host = await HostAsync();
        var (victim, victimClient) = await OrgAsync();
        var (_, intruderClient) = await OrgAsync();
        var domain = $"victim-{Guid.NewGuid():N}.example";
        host.Site(domain, "<html><head><link rel=\"icon\" href=\"logo.png\"></head></html>");
        host.Image($"/sites/{domain}/logo.png", "image/png", Png(64, 64));
        var company = await OrgScopedEndpoints.CreateAsync(victimClient, "companies", new { name = "Victim", domain });
        (await host.Api.Services.GetRequiredService<CompanyEnrichmentJob>()
            .RunAsync(victim.Id, company, domain, CancellationToken.None)).ShouldBeTrue();
        (await victimClient.GetAsync($"/api/v1/companies/{company}/logo")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var foreign = await intruderClient.GetAsync($"/api/v1/companies/{company}/logo");
        (await Problem.ReadAsync(foreign, HttpStatusCode.NotFound)).Detail.ShouldContain(company.ToString());
        (await victimClient.GetAsync($"/api/v1/companies/{company}/enrichment")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Problem.ReadAsync(await intruderClient.GetAsync($"/api/v1/companies/{company}/enrichment"), HttpStatusCode.NotFound))
            .Detail.ShouldContain(company.ToString(), customMessage: "another organization's company has no enrichment to show");
        (await Problem.ReadAsync(await host.Api.ClientFor(Guid.NewGuid(), victim.Slug).GetAsync($"/api/v1/companies/{company}/logo"),
            HttpStatusCode.NotFound)).Detail.ShouldContain(victim.Slug, customMessage: "a non-member learns nothing");
    }

    private async Task<(Organization Organization, HttpClient Client)> OrgAsync()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        return (organization, host.Api.ClientFor(owner.Id, organization.Slug));
    }

    internal static byte[] Png(int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(SKColors.OrangeRed);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>The API with enrichment pointed at a local stub serving each test domain's site under <c>/sites/{domain}/</c>.</summary>
    internal sealed class EnrichmentHost : IDisposable
    {
        public const int MaxBytes = 64 * 1024;
        public const int MaxSourcePixels = 1024;

        private readonly WireMockServer _sites = WireMockServer.Start();

        public EnrichmentHost(PlatformEnvironment platform)
        {
            // Fallback /favicon.ico (shared by every test domain, since they share the stub's host) is absent.
            _sites.Given(Request.Create().WithPath("/favicon.ico")).RespondWith(Response.Create().WithStatusCode(404));
            var section = "CleanCrm:Integrations:Enrichment:";
            Api = new ApiFactory(platform, new Dictionary<string, string?>
            {
                [section + "HomePageUrl"] = $"http://localhost:{_sites.Port}/sites/{{domain}}/",
                [section + "AllowPrivateHosts:0"] = "localhost",
                [section + "MaxBytes"] = MaxBytes.ToString(CultureInfo.InvariantCulture),
                [section + "MaxSourcePixels"] = MaxSourcePixels.ToString(CultureInfo.InvariantCulture),
                [section + "TimeoutSeconds"] = "30",
            });
        }

        public ApiFactory Api { get; }

        public void Site(string domain, string html) =>
            _sites.Given(Request.Create().WithPath($"/sites/{domain}/").UsingGet())
                .RespondWith(Response.Create().WithHeader("Content-Type", "text/html; charset=utf-8").WithBody(html));

        public void Image(string path, string contentType, byte[] body) =>
            _sites.Given(Request.Create().WithPath(path).UsingGet())
                .RespondWith(Response.Create().WithHeader("Content-Type", contentType).WithBody(body));

        public int Requests(string path) => _sites.LogEntries.Count(e => e.RequestMessage.Path == path);

        /// <summary>The domains of the enrichment jobs waiting in Hangfire's queue for a company.</summary>
        public List<string> QueuedFor(Guid companyId) =>
            [.. Api.Services.GetRequiredService<JobStorage>().GetMonitoringApi()
                .EnqueuedJobs(HangfireStorage.DefaultQueue, 0, 10_000)
                .Where(j => j.Value.InEnqueuedState)
                .Select(j => j.Value.Job)
                .Where(j => j?.Type == typeof(CompanyEnrichmentJob) && (Guid)j.Args[1] == companyId)
                .Select(j => (string)j!.Args[2])];

        public void Dispose()
        {
            Api.Dispose();
            _sites.Stop();
        }
    }
}
