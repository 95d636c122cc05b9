using System.Diagnostics.Metrics;

namespace CleanCrm.Infrastructure.Integrations;

/// <summary>
/// The <c>CleanCrm.Integrations</c> meter: webhook deliveries and token refreshes by provider and outcome (bounded tags only,
/// never an organization or connection id).
/// </summary>
public sealed class IntegrationMetrics : IDisposable
{
    public const string MeterName = "CleanCrm.Integrations";

    private readonly Meter _meter;
    private readonly Counter<long> _received;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _refreshes;

    public IntegrationMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _received = _meter.CreateCounter<long>("cleancrm.integrations.webhooks.received", "{delivery}",
            "Webhook deliveries received, by provider and outcome (accepted, duplicate, invalid_signature, unknown_connection, ignored).");
        _duplicates = _meter.CreateCounter<long>("cleancrm.integrations.webhooks.duplicates", "{delivery}",
            "Webhook deliveries already in the inbox (acknowledged, not processed again), by provider.");
        _failures = _meter.CreateCounter<long>("cleancrm.integrations.webhooks.failures", "{delivery}",
            "Webhook deliveries whose processing failed (retried by the job), by provider.");
        _refreshes = _meter.CreateCounter<long>("cleancrm.integrations.token_refreshes", "{refresh}",
            "Access token refreshes, by provider and outcome (refreshed, needs_reauth, failed).");
    }

    public void Received(string provider, string outcome)
    {
        _received.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("outcome", outcome));
        if (outcome == "duplicate")
        {
            _duplicates.Add(1, new KeyValuePair<string, object?>("provider", provider));
        }
    }

    public void Failed(string provider) => _failures.Add(1, new KeyValuePair<string, object?>("provider", provider));

    public void Refreshed(string provider, string outcome) =>
        _refreshes.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("outcome", outcome));

    public void Dispose() => _meter.Dispose();
}
