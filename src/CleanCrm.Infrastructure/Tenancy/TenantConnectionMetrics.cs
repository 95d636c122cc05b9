using System.Diagnostics.Metrics;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>Meter <c>CleanCrm.Tenancy</c>: data sources, connections in use and reserved, waits and refusals.</summary>
public sealed class TenantConnectionMetrics : IDisposable
{
    public const string MeterName = "CleanCrm.Tenancy";

    private readonly Meter _meter;

    public TenantConnectionMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        Waits =
            _meter.CreateCounter<long>("cleancrm.tenant_connections.waits", description: "Connection requests that had to wait for a slot");
        Refusals = _meter.CreateCounter<long>("cleancrm.tenant_connections.refusals",
            description: "Connection requests refused after the acquire timeout");
        Evictions = _meter.CreateCounter<long>("cleancrm.tenant_data_sources.evictions",
            description: "Tenant pools cleared or disposed to make room");
        WaitTime = _meter.CreateHistogram<double>("cleancrm.tenant_connections.wait_time", unit: "ms",
            description: "Time spent waiting for a slot");

        // The counters start at 0, so rate() and the refusal alert see the first event (docs/OBSERVABILITY.md).
        Waits.Add(0);
        Refusals.Add(0);
        Evictions.Add(0);
    }

    public Counter<long> Waits { get; }

    public Counter<long> Refusals { get; }

    public Counter<long> Evictions { get; }

    public Histogram<double> WaitTime { get; }

    public void Observe(Func<int> dataSources, Func<int> inUse, Func<int> reserved)
    {
        _meter.CreateObservableGauge("cleancrm.tenant_data_sources.open", dataSources,
            description: "Tenant data sources (pools) held by this process");
        _meter.CreateObservableGauge("cleancrm.tenant_connections.in_use", inUse, description: "Tenant connections checked out right now");
        _meter.CreateObservableGauge("cleancrm.tenant_connections.reserved", reserved,
            description: "Upper bound of physical tenant connections held");
    }

    public void ObserveCap(Func<int> cap) =>
        _meter.CreateObservableGauge("cleancrm.tenant_connections.cap", cap,
            description: "Cap on physical tenant connections of this process (configured or derived from the server)");

    public void Dispose() => _meter.Dispose();
}
