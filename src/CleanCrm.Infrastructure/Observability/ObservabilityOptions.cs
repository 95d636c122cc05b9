using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Observability;

/// <summary>Telemetry settings (section <c>CleanCrm:Observability</c>, docs/OBSERVABILITY.md "Configuration").</summary>
public sealed class ObservabilityOptions
{
    public const string SectionName = "CleanCrm:Observability";

    /// <summary>
    /// Whether this process publishes the catalog-derived gauges (organizations, billing, backups freshness, mail outbox,
    /// Hangfire queues). On in the API; every instance reads the same numbers, so rules aggregate them with <c>max</c>.
    /// </summary>
    public bool CatalogGauges { get; set; } = true;

    /// <summary>The catalog gauges are re-read at most this often, however often (or by how many) they are scraped.</summary>
    [Range(1, 3_600)]
    public int GaugeRefreshSeconds { get; set; } = 30;

    /// <summary>An active organization whose newest successful backup is older than this counts as stale.</summary>
    [Range(1, 24 * 30)]
    public int BackupStaleAfterHours { get; set; } = 26;

    /// <summary>How many of the stalest organizations get their own <c>org_id</c> series (bounds the cardinality).</summary>
    [Range(0, 100)]
    public int BackupAgeTopOrganizations { get; set; } = 10;

    /// <summary>Monthly list price per seat of each paid plan in minor units (cents), for the MRR gauge; plans missing count 0.</summary>
    public Dictionary<string, long> PlanMonthlyPriceMinor { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Fraction of root traces kept when traces are exported (children follow their parent's decision).</summary>
    [Range(0.0, 1.0)]
    public double TraceSampleRatio { get; set; } = 1.0;
}

internal sealed class ObservabilityOptionsValidator : IValidateOptions<ObservabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        var failures = options.PlanMonthlyPriceMinor
            .Where(p => p.Key is not (Domain.Catalog.Plan.Pro or Domain.Catalog.Plan.Enterprise) || p.Value < 0)
            .Select(p => $"{ObservabilityOptions.SectionName}:PlanMonthlyPriceMinor:{p.Key} must name a paid plan (pro, enterprise) " +
                "with a price of 0 or more minor units.")
            .ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
