using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace CleanCrm.IntegrationTests.Observability;

/// <summary>
/// Error tracking (docs/OBSERVABILITY.md "Error tracking"): with <c>Sentry:Dsn</c> pointing at a local stub, an unhandled
/// exception arrives as an envelope tagged with the org and the release, and without the request's credentials, body or the
/// secret in the exception's message.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class SentryTests(SharedPlatform platform) : IAsyncLifetime
{
    private const string Password = "sentry-owner-password-8731";
    private const string Bearer = "eyJhbGciOiJub25lIn0.sentry-bearer-secret";
    private const string QueuePassword = "queue-db-password-5519";
    private readonly ConcurrentQueue<string> _envelopes = new();
    private WireMockServer _sentry = null!;
    private ApiFactory _api = null!;

    public Task InitializeAsync()
    {
        _sentry = WireMockServer.Start();
        _sentry.Given(Request.Create().UsingPost().WithPath("/api/42/envelope/")).RespondWith(Response.Create().WithCallback(request =>
        {
            _envelopes.Enqueue(Text(request.BodyAsBytes));
            return new WireMock.ResponseMessage { StatusCode = 200 };
        }));
        var dsn = $"http://0123456789abcdef0123456789abcdef@127.0.0.1:{_sentry.Ports[0]}/42";
        _api = new ApiFactory(platform, new Dictionary<string, string?> { ["Sentry:Dsn"] = dsn },
            services => services.Replace(ServiceDescriptor.Singleton<IProvisioningQueue, FailingQueue>()));
        return Task.CompletedTask;
    }

    [Fact]
    public async Task An_unhandled_exception_arrives_tagged_with_org_and_release_and_without_secrets()
    {
        var slug = "sentry-" + Guid.NewGuid().ToString("N")[..12];
        var client = _api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Bearer);
        client.DefaultRequestHeaders.Add("Cookie", $"session={Bearer}");
        var response = await client.PostAsJsonAsync($"/api/v1/signup?token={Bearer}", TelemetryTests.SignupBody(slug, Password));
        ((int)response.StatusCode).ShouldBe(500, await response.Content.ReadAsStringAsync());

        var deadline = DateTime.UtcNow.AddSeconds(30);
        string envelope;
        while ((envelope = _envelopes.FirstOrDefault(e => e.Contains(nameof(FailingQueue), StringComparison.Ordinal)) ?? string.Empty)
            .Length == 0)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"no error event reached the stub ({_envelopes.Count} envelopes)");
            await Task.Delay(100);
        }

        // An envelope is newline-separated JSON: its header, then item headers and payloads; the event is the payload with
        // an "exception".
        var sentryEvent = envelope.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement)
            .Single(item => item.ValueKind == JsonValueKind.Object && item.TryGetProperty("exception", out _));
        var organizationId = await OrganizationIdAsync(slug);
        sentryEvent.GetProperty("tags").GetProperty("org_id").GetString().ShouldBe(organizationId.ToString());
        sentryEvent.GetProperty("release").GetString().ShouldBe(CleanCrm.Infrastructure.Observability.Telemetry.Release);
        sentryEvent.GetProperty("exception").GetRawText().ShouldContain("Password=[redacted]");
        foreach (var secret in TelemetryTests.SecretsOf(platform).Concat([Password, Bearer, QueuePassword]))
        {
            envelope.ShouldNotContain(secret);
        }
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _sentry.Stop();
    }

    private static string Text(byte[]? body)
    {
        if (body is [0x1f, 0x8b, ..])
        {
            using var gzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
            using var reader = new StreamReader(gzip, Encoding.UTF8);
            return reader.ReadToEnd();
        }

        return body is null ? string.Empty : Encoding.UTF8.GetString(body);
    }

    private async Task<Guid> OrganizationIdAsync(string slug)
    {
        await using var db = await platform.CatalogAsync();
        return await db.Organizations.Where(o => o.Slug == slug).Select(o => o.Id).SingleAsync();
    }

    /// <summary>Fails the signup after its commit, with a connection string in the message as a careless driver might.</summary>
    private sealed class FailingQueue : IProvisioningQueue
    {
        public Task EnqueueAsync(Guid runId, CancellationToken cancellationToken) =>
            throw new InvalidOperationException($"{nameof(FailingQueue)}: queue down (Host=db;Username=app;Password={QueuePassword})");
    }
}
