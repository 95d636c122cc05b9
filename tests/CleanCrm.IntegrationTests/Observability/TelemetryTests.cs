using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.IntegrationTests.Observability;

/// <summary>
/// The signals of docs/OBSERVABILITY.md end to end: the API and the worker host export to an in-process OTLP receiver; one
/// signup is one trace (request → provisioning job → its SQL) with the org on it, logs carry trace/org/user ids and none of
/// the flow's secrets.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed partial class TelemetryTests(SharedPlatform platform) : IAsyncLifetime
{
    private const string OwnerPassword = "telemetry horse battery staple 42";
    private readonly OtlpStub _otlp = new();
    private ApiFactory _api = null!;
    private WorkerHostRunner _worker = null!;

    public async Task InitializeAsync()
    {
        // Information level: the request and job log lines are what the log assertions read.
        var settings = new Dictionary<string, string>(_otlp.Settings) { ["Serilog:MinimumLevel:Default"] = "Information" };
        _api = new ApiFactory(platform, settings!);
        _worker = await WorkerHostRunner.StartAsync(platform, settings);
    }

    [Fact]
    public async Task One_signup_is_one_trace_through_the_provisioning_job_and_its_sql_and_logs_carry_ids_but_no_secret()
    {
        var slug = "tel-" + Guid.NewGuid().ToString("N")[..12];
        var response = await _api.CreateClient().PostAsJsonAsync("/api/v1/signup", SignupBody(slug, OwnerPassword));
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var org = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("organizationId").GetGuid().ToString();

        await _otlp.WaitForAsync(o => o.Spans.Any(s => IsProvisioningJob(s) && s.Attributes.GetValueOrDefault("cleancrm.org_id") == org),
            "the provisioning job's span");
        var request = _otlp.Spans.Single(s => s.Service == "cleancrm-api" && s.Attributes.GetValueOrDefault("url.path") == "/api/v1/signup"
            && s.Attributes.GetValueOrDefault("cleancrm.org_id") == org);
        request.ParentSpanId.ShouldBeEmpty("the signup request is the root of its trace");

        // Wait until the job's SQL spans are in (the job span ends after them, but exports are batched per process).
        await _otlp.WaitForAsync(
            o => TraceOf(o, request.TraceId).Any(s => Statement(s).Contains("CREATE DATABASE", StringComparison.Ordinal)),
            "the CREATE DATABASE span in the signup's trace");
        var trace = TraceOf(_otlp, request.TraceId);
        var bySpanId = trace.ToDictionary(s => s.SpanId);
        var job = trace.Single(s => IsProvisioningJob(s));
        job.Attributes["cleancrm.org_id"].ShouldBe(org);
        AncestorsOf(job, bySpanId).ShouldContain(request.SpanId, "the job span hangs off the signup request");
        var sql = trace.Where(s => Statement(s).Length > 0 && AncestorsOf(s, bySpanId).Contains(job.SpanId)).ToList();
        sql.ShouldContain(s => Statement(s).Contains("CREATE DATABASE", StringComparison.Ordinal));
        sql.ShouldContain(s => s.Service == "cleancrm-worker");
        var unredacted = trace.Select(Statement).Where(statement => UnredactedPassword().IsMatch(statement)).ToList();
        unredacted.ShouldBeEmpty($"a role password literal left a process: {string.Join(" | ", unredacted)}");
        sql.ShouldContain(s => Statement(s).Contains("PASSWORD '[redacted]'", StringComparison.Ordinal), "the role's password is redacted");

        // The job's log lines are in the same trace and name the org (the job filter's log context); only jobs log with
        // both. Which host's service name they carry is not asserted: Hangfire's job activation state is process-wide, and
        // with several hosts in this test process (the API above) a job may log through another host's logger, which
        // exports to this receiver too. In production one process is one host.
        await _otlp.WaitForAsync(o => o.Logs.Any(l => l.TraceId == request.TraceId
            && l.Attributes.GetValueOrDefault("OrgId") == org), "a log record of the provisioning job");

        // A member's org-scoped request logs its user, org and trace.
        var owner = await OwnerOfAsync(Guid.Parse(org));
        await WaitForActiveAsync(owner, slug);
        (await _api.ClientFor(owner, slug).GetAsync("/api/v1/companies")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await _otlp.WaitForAsync(o => o.Logs.Any(l => l.Service == "cleancrm-api" && l.TraceId.Length == 32
            && l.Attributes.GetValueOrDefault("UserId") == owner.ToString() && l.Attributes.GetValueOrDefault("OrgId") == org
            && l.Attributes.GetValueOrDefault("RequestPath") == "/api/v1/companies"), "the org-scoped request's log line");

        // No secret the flow used appears in any log record or span.
        var secrets = SecretsOf(platform).Append(OwnerPassword).ToList();
        var exported = _otlp.Logs.Select(l => l.Body + string.Join('\n', l.Attributes.Values))
            .Concat(_otlp.Spans.Select(s => s.Name + string.Join('\n', s.Attributes.Values)))
            .ToList();
        exported.Count.ShouldBeGreaterThan(20);
        foreach (var secret in secrets)
        {
            exported.ShouldNotContain(text => text.Contains(secret, StringComparison.Ordinal), $"a secret ({secret[..4]}…) was exported");
        }
    }

    public async Task DisposeAsync()
    {
        await _worker.DisposeAsync();
        await _api.DisposeAsync();
        _otlp.Dispose();
    }

    /// <summary>A free-plan signup of <paramref name="slug"/> with the given owner password.</summary>
    internal static Dictionary<string, string> SignupBody(string slug, string password) => new()
    {
        ["organizationName"] = "Org " + slug,
        ["slug"] = slug,
        ["ownerEmail"] = $"owner-{slug}@example.com",
        ["ownerName"] = "Ada Owner",
        ["ownerPassword"] = password,
        ["plan"] = "free",
    };

    /// <summary>The secrets among the platform's settings (passwords, keys): a 24-character slice of each is enough to find it.</summary>
    internal static IEnumerable<string> SecretsOf(PlatformEnvironment platform) => platform.Settings
        .Where(s => s.Value is { Length: >= 8 } && (s.Key.EndsWith("Password", StringComparison.Ordinal)
            || s.Key.EndsWith("Key", StringComparison.Ordinal) || s.Key.EndsWith("Secret", StringComparison.Ordinal)))
        .Select(s => s.Value!.Contains("-----BEGIN", StringComparison.Ordinal) ? s.Value.Split('\n')[2].Trim()[..24] : s.Value!)
        .Append(new Npgsql.NpgsqlConnectionStringBuilder(platform.CatalogConnectionString).Password!)
        .Where(s => s.Length >= 8);

    [System.Text.RegularExpressions.GeneratedRegex(@"PASSWORD\s+'(?!\[redacted\]')",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex UnredactedPassword();

    private static bool IsProvisioningJob(ReceivedSpan span) =>
        span.Service == "cleancrm-worker" && span.Name.StartsWith("hangfire.job ProvisioningJob.", StringComparison.Ordinal);

    private static string Statement(ReceivedSpan span) =>
        span.Attributes.GetValueOrDefault("db.query.text") ?? span.Attributes.GetValueOrDefault("db.statement") ?? string.Empty;

    /// <summary>The spans of one trace, once each (both hosts share this process, so both may export a job's child spans).</summary>
    private static List<ReceivedSpan> TraceOf(OtlpStub otlp, string traceId) =>
        otlp.Spans.Where(s => s.TraceId == traceId).OrderBy(s => s.Service == "cleancrm-worker" ? 0 : 1).DistinctBy(s => s.SpanId).ToList();

    private static HashSet<string> AncestorsOf(ReceivedSpan span, IReadOnlyDictionary<string, ReceivedSpan> bySpanId)
    {
        var ancestors = new HashSet<string>(StringComparer.Ordinal);
        var parent = span.ParentSpanId;
        while (parent.Length > 0 && ancestors.Add(parent) && bySpanId.TryGetValue(parent, out var next))
        {
            parent = next.ParentSpanId;
        }

        return ancestors;
    }

    private async Task<Guid> OwnerOfAsync(Guid organizationId)
    {
        await using var db = await platform.CatalogAsync();
        return await db.Memberships.Where(m => m.OrganizationId == organizationId && m.Role == OrgRole.Owner).Select(m => m.UserId)
            .SingleAsync();
    }

    private async Task WaitForActiveAsync(Guid owner, string slug)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var client = _api.ClientFor(owner);
        while ((await client.GetFromJsonAsync<JsonElement>($"/api/v1/orgs/{slug}/provisioning"))
               .GetProperty("status").GetString() != "active")
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"{slug} never became active");
            await Task.Delay(100);
        }
    }
}
