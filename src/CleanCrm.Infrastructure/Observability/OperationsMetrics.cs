using System.Diagnostics.Metrics;

namespace CleanCrm.Infrastructure.Observability;

/// <summary>
/// Event counters of the operations the product runs: meter <c>CleanCrm.Operations</c> with backups (runs by outcome and
/// trigger, duration), fleet migrations (tenants migrated/failed) and inbound webhooks (by provider and outcome). Every
/// label has a closed set of values (docs/OBSERVABILITY.md "Cardinality rule").
/// </summary>
public sealed class OperationsMetrics : IDisposable
{
    public const string MeterName = "CleanCrm.Operations";

    private readonly Meter _meter;

    public OperationsMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        BackupRuns = _meter.CreateCounter<long>("cleancrm.backups.runs", description: "Tenant backups finished, by outcome and trigger");
        BackupDuration = _meter.CreateHistogram<double>("cleancrm.backups.duration", "s", "Duration of one tenant backup");
        FleetTenants = _meter.CreateCounter<long>("cleancrm.fleet.tenants_migrated",
            description: "Tenants handled by fleet migration runs, by outcome (migrated, skipped, failed)");
        Webhooks = _meter.CreateCounter<long>("cleancrm.webhooks.received",
            description: "Inbound webhook deliveries, by provider and outcome");

        // Every series of a closed label set starts at 0, so rate() and "increase > N" alerts see the first event.
        foreach (var outcome in BackupOutcomes)
        {
            BackupRuns.Add(0, new("outcome", outcome), new("trigger", "scheduled"));
        }

        FleetRunFinished(0, 0, 0);
        foreach (var outcome in StripeOutcomes)
        {
            WebhookReceived("stripe", outcome, 0);
        }
    }

    /// <summary>Outcomes of <c>cleancrm.backups.runs</c>.</summary>
    public static IReadOnlyList<string> BackupOutcomes { get; } = ["succeeded", "failed"];

    /// <summary>Outcomes of <c>cleancrm.webhooks.received</c> for Stripe (the processor's outcomes plus <c>failed</c>: it threw).</summary>
    public static IReadOnlyList<string> StripeOutcomes { get; } =
        ["applied", "duplicate", "ignored", "invalid_signature", "not_configured", "failed"];

    public Counter<long> BackupRuns { get; }

    public Histogram<double> BackupDuration { get; }

    public Counter<long> FleetTenants { get; }

    public Counter<long> Webhooks { get; }

    public void BackupFinished(string outcome, string trigger, TimeSpan? duration)
    {
        BackupRuns.Add(1, new("outcome", outcome), new("trigger", trigger));
        if (duration is { } elapsed)
        {
            BackupDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    public void FleetRunFinished(int migrated, int skipped, int failed)
    {
        FleetTenants.Add(migrated, new KeyValuePair<string, object?>("outcome", "migrated"));
        FleetTenants.Add(skipped, new KeyValuePair<string, object?>("outcome", "skipped"));
        FleetTenants.Add(failed, new KeyValuePair<string, object?>("outcome", "failed"));
    }

    /// <summary>One delivery; <paramref name="outcome"/> is one of a fixed set (applied, duplicate, invalid_signature, ...).</summary>
    public void WebhookReceived(string provider, string outcome, long count = 1) =>
        Webhooks.Add(count, new("provider", provider), new("outcome", outcome));

    public void Dispose() => _meter.Dispose();
}
