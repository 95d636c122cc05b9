using System.Net;
using CleanCrm.Infrastructure.Integrations.Enrichment;
using Microsoft.Extensions.Options;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>The SSRF-safe fetcher used for company enrichment: what it refuses, against a local stub standing in for a site.</summary>
public sealed class SafeHttpFetcherTests : IDisposable
{
    private readonly WireMockServer _site = WireMockServer.Start();

    public SafeHttpFetcherTests()
    {
        _site.Given(Request.Create().WithPath("/logo.png")).RespondWith(Response.Create().WithHeader("Content-Type", "image/png")
            .WithBody([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]));
        _site.Given(Request.Create().WithPath("/page")).RespondWith(Response.Create().WithHeader("Content-Type", "text/html")
            .WithBody("<html></html>"));
        _site.Given(Request.Create().WithPath("/big.png")).RespondWith(Response.Create().WithHeader("Content-Type", "image/png")
            .WithBody(new byte[3000]));
        _site.Given(Request.Create().WithPath("/to-metadata")).RespondWith(Response.Create().WithStatusCode(302)
            .WithHeader("Location", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"));
        _site.Given(Request.Create().WithPath("/to-loopback")).RespondWith(Response.Create().WithStatusCode(302)
            .WithHeader("Location", $"http://127.0.0.1:{_site.Port}/logo.png"));
        _site.Given(Request.Create().WithPath("/to-file")).RespondWith(Response.Create().WithStatusCode(302)
            .WithHeader("Location", "file:///etc/passwd"));
        _site.Given(Request.Create().WithPath("/to-logo")).RespondWith(Response.Create().WithStatusCode(301)
            .WithHeader("Location", "/logo.png"));
        _site.Given(Request.Create().WithPath("/loop")).RespondWith(Response.Create().WithStatusCode(302).WithHeader("Location", "/loop"));
    }

    private string Site => $"http://localhost:{_site.Port}";

    private static bool Image(string type) => type.StartsWith("image/", StringComparison.Ordinal);

    // A generous timeout: a fresh WireMock server's first answer can take several seconds on a loaded machine, and a
    // 5-second limit turned that into FetchRefusal.Failed (why the earlier allow-listed-host test "timed out").
    private static SafeHttpFetcher Fetcher(params string[] allowPrivateHosts) =>
        new(Options.Create(new SafeFetchOptions { MaxBytes = 2048, TimeoutSeconds = 30, AllowPrivateHosts = [.. allowPrivateHosts] }));

    [Theory]
    [InlineData("http://127.0.0.1:{port}/logo.png", FetchRefusal.PrivateAddress)]
    [InlineData("http://localhost:{port}/logo.png", FetchRefusal.PrivateAddress)]
    [InlineData("http://169.254.169.254/latest/meta-data/", FetchRefusal.PrivateAddress)]
    [InlineData("http://[::1]:{port}/logo.png", FetchRefusal.PrivateAddress)]
    [InlineData("http://10.0.0.8/", FetchRefusal.PrivateAddress)]
    [InlineData("http://192.168.1.1/", FetchRefusal.PrivateAddress)]
    [InlineData("file:///etc/passwd", FetchRefusal.Scheme)]
    [InlineData("ftp://example.com/logo.png", FetchRefusal.Scheme)]
    public async Task Private_loopback_link_local_and_non_http_targets_are_refused_in_production(string url, FetchRefusal expected)
    {
        using var fetcher = Fetcher();
        var target = new Uri(url.Replace("{port}", _site.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            StringComparison.Ordinal));
        (await fetcher.GetAsync(target, Image, CancellationToken.None)).Refusal.ShouldBe(expected);
        _site.LogEntries.ShouldBeEmpty("a refused target is never contacted");
    }

    // Allow-listed by name as tests configure it; "localhost" must resolve to an address the stub listens on.
    [Fact(Timeout = 60_000)]
    public async Task An_allow_listed_host_is_fetched_and_a_relative_redirect_is_followed()
    {
        using var fetcher = Fetcher("localhost");
        var logo = await fetcher.GetAsync(new Uri($"{Site}/logo.png"), Image, CancellationToken.None);
        logo.Refusal.ShouldBe(FetchRefusal.None);
        logo.ContentType.ShouldBe("image/png");
        logo.Body!.Length.ShouldBe(8);

        // "/logo.png" is a path, not file:///logo.png (what Uri makes of it on Unix).
        var redirected = await fetcher.GetAsync(new Uri($"{Site}/to-logo"), Image, CancellationToken.None);
        redirected.Refusal.ShouldBe(FetchRefusal.None);
        redirected.FinalUri!.AbsolutePath.ShouldBe("/logo.png");
    }

    [Theory(Timeout = 60_000)]
    [InlineData("/to-metadata", FetchRefusal.PrivateAddress)]
    [InlineData("/to-loopback", FetchRefusal.PrivateAddress)]
    [InlineData("/to-file", FetchRefusal.Scheme)]
    [InlineData("/loop", FetchRefusal.TooManyRedirects)]
    [InlineData("/page", FetchRefusal.ContentType)]
    [InlineData("/big.png", FetchRefusal.TooLarge)]
    public async Task Redirects_to_forbidden_targets_wrong_content_types_and_oversized_bodies_are_refused(string path,
        FetchRefusal expected)
    {
        using var fetcher = Fetcher("localhost");
        (await fetcher.GetAsync(new Uri(Site + path), Image, CancellationToken.None)).Refusal.ShouldBe(expected);
        _site.LogEntries.ShouldContain(e => e.RequestMessage.Path == path, "the allow-listed first hop is fetched");
        _site.LogEntries.Count(e => e.RequestMessage.Path == "/logo.png").ShouldBe(0, "the loopback redirect target is never fetched");
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.0.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("224.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("::ffff:169.254.169.254", true)]
    [InlineData("93.184.216.34", false)]
    [InlineData("2606:2800:220:1:248:1893:25c8:1946", false)]
    public void Address_ranges(string address, bool forbidden) =>
        SafeHttpFetcher.IsForbidden(IPAddress.Parse(address)).ShouldBe(forbidden);

    public void Dispose() => _site.Stop();
}
