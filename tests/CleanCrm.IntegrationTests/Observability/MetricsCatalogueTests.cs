using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Backups;
using CleanCrm.Infrastructure.Observability;
using CleanCrm.IntegrationTests.Api;
using CleanCrm.IntegrationTests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Observability;

/// <summary>
/// docs/OBSERVABILITY.md's metric catalogue against the API's real <c>/metrics</c>: every documented product metric is served
/// with its labels, the org id appears only on the bounded series, and every metric a dashboard panel or an alert rule reads
/// is either served or in the documented native set.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed partial class MetricsCatalogueTests(SharedPlatform platform) : IAsyncLifetime
{
    private static readonly HashSet<string> PromQlWords = new(StringComparer.Ordinal)
    {
        "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "inf", "nan",
    };

    private const int TopOrganizations = 3;
    private ApiFactory _api = null!;

    public Task InitializeAsync()
    {
        _api = new ApiFactory(platform, new Dictionary<string, string?>
        {
            ["CleanCrm:Observability:GaugeRefreshSeconds"] = "1",
            ["CleanCrm:Observability:BackupAgeTopOrganizations"] = $"{TopOrganizations}",
        });
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Metrics_serve_the_documented_catalogue_and_dashboards_and_rules_read_only_known_metrics()
    {
        // The API's meter provider listens before anything is recorded: the event metrics below land on its /metrics.
        var client = _api.CreateClient();
        (await client.GetAsync("/metrics")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        (await platform.Services.GetRequiredService<TenantBackupRunner>()
            .BackupNowAsync(organization.Id, BackupTrigger.Manual, CancellationToken.None)).Status.ShouldBe(BackupStatus.Succeeded);
        (await _api.ClientFor(owner.Id, organization.Slug).GetAsync("/api/v1/companies")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await client.PostAsync("/webhooks/stripe", new StringContent("{}"));

        var deadline = DateTime.UtcNow.AddSeconds(30);
        string text;
        // A snapshot taken after the org above became active (the first scrape's snapshot may predate it) and after the
        // request above was recorded: the host records a request's duration as its context ends, which can be after the
        // test client already has the response, so a busy machine can serve a scrape that does not hold it yet.
        while (!(text = await client.GetStringAsync("/metrics")).Contains("cleancrm_backups_newest_age_seconds{", StringComparison.Ordinal)
            || !text.Contains("http_server_request_duration_seconds_bucket{", StringComparison.Ordinal))
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the catalog gauges or the request durations never appeared on /metrics");
            await Task.Delay(200);
        }

        // For writing the catalogue: CLEANCRM_METRICS_DUMP=<file> keeps the exposition this test read.
        if (Environment.GetEnvironmentVariable("CLEANCRM_METRICS_DUMP") is { Length: > 0 } dump)
        {
            await File.WriteAllTextAsync(dump, text);
        }

        var series = Series(text);
        var catalogue = Catalogue();
        catalogue.Count.ShouldBeGreaterThan(30);
        foreach (var (name, labels) in catalogue)
        {
            series.ShouldContain(s => (s.Name == name || s.Name == name + "_bucket") && labels.All(label => s.Labels.ContainsKey(label)),
                $"{name} with labels [{string.Join(", ", labels)}] is documented but not on /metrics");
        }

        var withOrg = series.Where(s => s.Labels.ContainsKey("org_id")).Select(s => s.Name).Distinct().ToArray();
        withOrg.ShouldBe(new[] { "cleancrm_backups_newest_age_seconds" }, customMessage: "org_id only where its cardinality is bounded");
        // The bound holds per process: this host's snapshot names at most TopOrganizations orgs, each on /metrics. The
        // exposition itself may hold more, because OpenTelemetry's meter listener is process-wide and this test process
        // also runs other hosts (other catalogs, the default top 10) whose CleanCrm.Platform meters it hears.
        var stalest = _api.Services.GetRequiredService<PlatformGauges>().Current.ShouldNotBeNull().StalestBackups;
        stalest.Count.ShouldBeInRange(1, TopOrganizations);
        foreach (var (organizationId, _) in stalest)
        {
            series.ShouldContain(s => s.Name == "cleancrm_backups_newest_age_seconds"
                && s.Labels.GetValueOrDefault("org_id") == organizationId.ToString());
        }

        series.ShouldNotContain(s => s.Labels.ContainsKey("db_client_connection_pool_name"), "one Npgsql series per tenant pool");
        var known = series.Select(s => s.Name).Concat(NativeMetrics()).Concat(EventMetrics()).Concat(RecordingRules())
            .ToHashSet(StringComparer.Ordinal);
        var queries = DashboardQueries().Concat(RuleQueries()).ToList();
        queries.Count.ShouldBeGreaterThan(60);
        foreach (var (source, expr) in queries)
        {
            foreach (var metric in MetricNames(expr))
            {
                known.ShouldContain(metric, $"{source} reads {metric}, which is neither on /metrics nor documented as native: {expr}");
            }
        }
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    /// <summary>The metric names a PromQL expression selects (functions, keywords, labels and Grafana variables removed).</summary>
    internal static IEnumerable<string> MetricNames(string expr)
    {
        var bare = StringLiteral().Replace(expr, "\"\"");
        bare = GrafanaVariable().Replace(bare, " ");
        bare = LabelMatchers().Replace(bare, " ");
        bare = Grouping().Replace(bare, " ");
        bare = RangeSelector().Replace(bare, " ");
        return Identifier().Matches(bare).Select(m => m.Value).Where(name => !PromQlWords.Contains(name)).Distinct();
    }

    private static List<(string Name, Dictionary<string, string> Labels)> Series(string exposition) =>
        exposition.Split('\n').Where(line => line.Length > 0 && line[0] != '#').Select(line =>
        {
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var name = brace < 0 ? line[..line.IndexOf(' ', StringComparison.Ordinal)] : line[..brace];
            var labels = brace < 0 ? new Dictionary<string, string>()
                : LabelPair().Matches(line[brace..line.LastIndexOf('}')]).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            return (name, labels);
        }).ToList();

    /// <summary>The product metric table of docs/OBSERVABILITY.md: <c>| `name` | type | `label`, `label` | ...</c>.</summary>
    private static List<(string Name, string[] Labels)> Catalogue() => Section("product-metrics")
        .Select(line => line.Split('|', StringSplitOptions.TrimEntries))
        .Where(cells => cells.Length > 4 && cells[1].StartsWith('`'))
        .Select(cells => (cells[1].Trim('`'), Backticked().Matches(cells[3]).Select(m => m.Groups[1].Value).ToArray()))
        .ToList();

    /// <summary>Product metrics documented as appearing with their first event (histograms nothing in this test records).</summary>
    private static IEnumerable<string> EventMetrics() =>
        Section("event-metrics").Select(line => line.Split('|', StringSplitOptions.TrimEntries))
            .Where(cells => cells.Length > 2 && cells[1].StartsWith('`')).Select(cells => cells[1].Trim('`'));

    private static IEnumerable<string> NativeMetrics() =>
        Section("native-metrics").SelectMany(line => Backticked().Matches(line).Select(m => m.Groups[1].Value));

    private static IEnumerable<string> Section(string name)
    {
        var lines = File.ReadAllLines(Path.Combine(OpenApiDocument.RepositoryRoot(), "docs", "OBSERVABILITY.md"));
        var start = Array.IndexOf(lines, $"<!-- {name}:start -->");
        var end = Array.IndexOf(lines, $"<!-- {name}:end -->");
        (start >= 0 && end > start).ShouldBeTrue($"docs/OBSERVABILITY.md has no {name} section");
        return lines[(start + 1)..end];
    }

    private static IEnumerable<(string Source, string Expr)> DashboardQueries()
    {
        var folder = Path.Combine(OpenApiDocument.RepositoryRoot(), "deploy", "monitoring", "grafana", "provisioning", "dashboards");
        foreach (var file in Directory.GetFiles(folder, "*.json"))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var panel in document.RootElement.GetProperty("panels").EnumerateArray())
            {
                foreach (var target in panel.GetProperty("targets").EnumerateArray())
                {
                    var title = panel.GetProperty("title").GetString();
                    yield return ($"{Path.GetFileName(file)} \"{title}\"", target.GetProperty("expr").GetString()!);
                }
            }
        }
    }

    private static IEnumerable<string> RuleFiles() =>
        Directory.GetFiles(Path.Combine(OpenApiDocument.RepositoryRoot(), "deploy", "monitoring", "prometheus", "rules"), "*.yml");

    private static IEnumerable<string> RecordingRules() =>
        RuleFiles().SelectMany(File.ReadAllLines).Select(line => RecordLine().Match(line)).Where(m => m.Success)
            .Select(m => m.Groups[1].Value);

    /// <summary>Each <c>expr:</c> of the rule files, one line or a <c>|</c> block.</summary>
    private static IEnumerable<(string Source, string Expr)> RuleQueries()
    {
        foreach (var file in RuleFiles())
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var match = ExprLine().Match(lines[i]);
                if (!match.Success)
                {
                    continue;
                }

                var expr = match.Groups[2].Value;
                if (expr == "|")
                {
                    var indent = match.Groups[1].Value.Length;
                    var block = lines.Skip(i + 1).TakeWhile(l => l.Trim().Length == 0 || l.Length - l.TrimStart().Length > indent);
                    expr = string.Join('\n', block);
                }

                yield return ($"{Path.GetFileName(file)} line {i + 1}", expr);
            }
        }
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\$\{?\w+\}?")]
    private static partial Regex GrafanaVariable();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex LabelMatchers();

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex RangeSelector();

    [GeneratedRegex(@"(?<![\w$.:])[a-zA-Z_:][a-zA-Z0-9_:]*(?![\w:])(?!\s*\()")]
    private static partial Regex Identifier();

    [GeneratedRegex("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex LabelPair();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Backticked();

    [GeneratedRegex(@"^\s*-?\s*record:\s*(\S+)")]
    private static partial Regex RecordLine();

    [GeneratedRegex(@"^(\s*)expr:\s*(.*)$")]
    private static partial Regex ExprLine();
}
