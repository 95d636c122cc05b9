using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serilog;
using Serilog.Formatting.Compact;
using Serilog.Sinks.OpenTelemetry;

namespace CleanCrm.Infrastructure.Observability;

/// <summary>
/// The telemetry every process shares (docs/OBSERVABILITY.md): traces of HttpClient, Npgsql and Hangfire jobs, the
/// runtime and product meters, logs as compact JSON on stdout plus OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public static class Telemetry
{
    /// <summary>Activity source of Hangfire job executions.</summary>
    public const string JobsSourceName = "CleanCrm.Jobs";

    /// <summary>Meter of the integrations area (inbound webhooks of Google, Slack, Fathom, SavvyCal; see docs/OBSERVABILITY.md).</summary>
    public const string IntegrationsMeterName = "CleanCrm.Integrations";

    /// <summary>Meter of the API's Redis-backed plan budgets (ADR 0017), defined in the API host.</summary>
    public const string RateLimitingMeterName = "CleanCrm.RateLimiting";

    /// <summary>Every product meter; a meter named here and nowhere else would be silently dropped, so all are listed.</summary>
    public static readonly IReadOnlyList<string> ProductMeters =
    [
        TenantConnectionMetrics.MeterName, ProvisioningMetrics.MeterName, OperationsMetrics.MeterName, PlatformGauges.MeterName,
        IntegrationsMeterName, RateLimitingMeterName,
    ];

    /// <summary>Meters of the platform the dashboards use (ASP.NET Core and Kestrel come with the API's instrumentation).</summary>
    public static readonly IReadOnlyList<string> NativeMeters =
    [
        "Npgsql", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections",
        "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.Diagnostics", "Microsoft.AspNetCore.RateLimiting", "System.Net.Http",
    ];

    /// <summary>
    /// Buckets of http.server.request.duration: ASP.NET Core's defaults plus 0.2 s, the latency SLO's threshold
    /// (docs/OBSERVABILITY.md "SLOs"), so the SLI is an exact bucket rather than an interpolation.
    /// </summary>
    public static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>
    /// Npgsql tags its metrics with the pool name, i.e. a connection string per tenant database: one series per tenant,
    /// against the cardinality rule (docs/OBSERVABILITY.md). Only these bounded tags are kept.
    /// </summary>
    private static readonly MetricStreamConfiguration NpgsqlStream = new()
    {
        TagKeys = ["db.client.connection.state", "db.system.name", "db.operation.name", "error.type", "server.address"],
    };

    private static readonly Lock FilterGate = new();
    private static bool _filterAdded;

    /// <summary>The OTLP endpoint (standard variable), or null when nothing is exported over OTLP.</summary>
    public static string? OtlpEndpoint(IConfiguration configuration) =>
        configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 } endpoint ? endpoint : null;

    /// <summary>Registers options, meters and the OpenTelemetry pipelines; <paramref name="configure"/> adds per-host parts.</summary>
    public static OpenTelemetry.IOpenTelemetryBuilder AddCleanCrmTelemetry(this IServiceCollection services, IConfiguration configuration,
        string serviceName, bool publishCatalogGauges, Action<TracerProviderBuilder>? tracing = null,
        Action<MeterProviderBuilder>? metrics = null)
    {
        services.AddOptions<ObservabilityOptions>().Bind(configuration.GetSection(ObservabilityOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<ObservabilityOptions>, ObservabilityOptionsValidator>();
        services.AddSingleton<PlatformGauges>();
        services.AddHostedService(sp => new MeterStartup(sp, publishCatalogGauges));
        var otlp = OtlpEndpoint(configuration);
        var sampleRatio = configuration.GetValue($"{ObservabilityOptions.SectionName}:TraceSampleRatio",
            configuration.GetValue("CleanCrm:Telemetry:TraceSampleRatio", 1.0));
        return services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceVersion: Release))
            .WithTracing(builder =>
            {
                builder.AddSource(JobsSourceName).AddHttpClientInstrumentation().AddNpgsql();
                tracing?.Invoke(builder);
                if (otlp is not null)
                {
                    builder.AddProcessor(new SecretScrubbingProcessor()).AddOtlpExporter();
                    builder.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(sampleRatio)));
                }
                else
                {
                    // Nothing exports spans: keep trace context (W3C ids for logs, problem details, audit correlation, jobs)
                    // but do not record span data nobody reads (tags, Npgsql command spans) on every request.
                    builder.SetSampler(new AlwaysOffSampler());
                }
            })
            .WithMetrics(builder =>
            {
                builder.AddMeter([.. ProductMeters, .. NativeMeters]).AddRuntimeInstrumentation().AddHttpClientInstrumentation()
                    .AddView("http.server.request.duration", new ExplicitBucketHistogramConfiguration { Boundaries = LatencyBuckets })
                    .AddView(instrument => instrument.Meter.Name == "Npgsql" ? NpgsqlStream : null);
                metrics?.Invoke(builder);
                if (otlp is not null)
                {
                    builder.AddOtlpExporter();
                }
            });
    }

    /// <summary>Compact JSON on stdout (trace and span ids as <c>@tr</c>/<c>@sp</c>), and OTLP when an endpoint is set.</summary>
    public static LoggerConfiguration WriteToCleanCrmSinks(this LoggerConfiguration logger, IConfiguration configuration,
        string serviceName)
    {
        logger.Enrich.FromLogContext().Enrich.WithProperty("Service", serviceName).WriteTo.Console(new RenderedCompactJsonFormatter());
        if (OtlpEndpoint(configuration) is { } endpoint)
        {
            var protocol = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] is "http/protobuf" ? OtlpProtocol.HttpProtobuf : OtlpProtocol.Grpc;
            logger.WriteTo.OpenTelemetry(options =>
            {
                options.Endpoint = protocol == OtlpProtocol.HttpProtobuf ? $"{endpoint.TrimEnd('/')}/v1/logs" : endpoint;
                options.Protocol = protocol;
                options.ResourceAttributes = new Dictionary<string, object>
                {
                    ["service.name"] = serviceName,
                    ["service.version"] = Release,
                };
            });
        }

        return logger;
    }

    /// <summary>Adds the trace-context job filter to Hangfire's global filters once per process.</summary>
    public static void UseCleanCrmTraceContext()
    {
        lock (FilterGate)
        {
            if (!_filterAdded)
            {
                GlobalJobFilters.Filters.Add(new HangfireTraceContextFilter());
                _filterAdded = true;
            }
        }
    }

    /// <summary>The release these processes report (traces' service.version, Sentry's release): the informational version.</summary>
    public static string Release { get; } =
        typeof(Telemetry).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";

    /// <summary>
    /// Creates the meters at start-up (a meter exists once its singleton is built), so the zero series of closed label sets
    /// are there from the first scrape, and the catalog gauges where this process publishes them.
    /// </summary>
    private sealed class MeterStartup(IServiceProvider services, bool publishCatalogGauges) : Microsoft.Extensions.Hosting.IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            services.GetRequiredService<OperationsMetrics>();
            var provisioning = services.GetRequiredService<ProvisioningMetrics>();
            provisioning.Runs.Add(0, new KeyValuePair<string, object?>("outcome", "failed"));
            provisioning.Runs.Add(0, new KeyValuePair<string, object?>("outcome", "succeeded"));
            if (publishCatalogGauges && services.GetRequiredService<IOptions<ObservabilityOptions>>().Value.CatalogGauges)
            {
                services.GetRequiredService<PlatformGauges>();
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
