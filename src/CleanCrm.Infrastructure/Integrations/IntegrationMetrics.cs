using System.Diagnostics.Metrics;
using CleanCrm.Infrastructure.Observability;

namespace CleanCrm.Infrastructure.Integrations;

/// <summary>
/// Signals of the integrations (bounded tags only, never an organization or connection id): deliveries are counted on the
/// product-wide <c>cleancrm.webhooks.received</c> (meter <c>CleanCrm.Operations</c>, tagged provider and outcome, which the
/// dashboards and the signature-failure alert read for every provider, Stripe included); processing failures and token
/// refreshes on the <c>CleanCrm.Integrations</c> meter (docs/OBSERVABILITY.md).
/// </summary>
public sealed class IntegrationMetrics : IDisposable
{
    public const string MeterName = Telemetry.IntegrationsMeterName;

    /// <summary>Outcomes of a delivery; every provider's series start at 0 so the first failure shows in increase().</summary>
    public static readonly IReadOnlyList<string> Outcomes =
        ["accepted", "duplicate", "invalid_signature", "unknown_connection", "ignored", "url_verification"];

    private readonly Meter _meter;
    private readonly OperationsMetrics _operations;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _refreshes;

    public IntegrationMetrics(IMeterFactory meters, OperationsMetrics operations)
    {
        _meter = meters.Create(MeterName);
        _operations = operations;
        _failures = _meter.CreateCounter<long>("cleancrm.integrations.webhooks.failures", "{delivery}",
            "Webhook deliveries whose processing failed (retried by the job), by provider.");
        _refreshes = _meter.CreateCounter<long>("cleancrm.integrations.token_refreshes", "{refresh}",
            "Access token refreshes, by provider and outcome (refreshed, needs_reauth, failed).");
        foreach (var provider in new[] { "google", "slack", "fathom", "savvycal" })
        {
            foreach (var outcome in Outcomes)
            {
                operations.WebhookReceived(provider, outcome, 0);
            }
        }
    }

    public void Received(string provider, string outcome) => _operations.WebhookReceived(provider, outcome);

    public void Failed(string provider) => _failures.Add(1, new KeyValuePair<string, object?>("provider", provider));

    public void Refreshed(string provider, string outcome) =>
        _refreshes.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("outcome", outcome));

    public void Dispose() => _meter.Dispose();
}
