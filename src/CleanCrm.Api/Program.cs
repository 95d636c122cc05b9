using CleanCrm.Api.Endpoints;
using CleanCrm.Api.Endpoints.Integrations;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.OpenApi;
using CleanCrm.Api.Security;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Security;
using CleanCrm.Infrastructure;
using CleanCrm.Infrastructure.Http;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Observability;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Secrets;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serilog;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCleanCrmKeyVaultSecrets();

// Sinks registered in DI (ILogEventSink) are added to the console sink; tests use that to read what was logged. Compact JSON
// on stdout plus OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/OBSERVABILITY.md "Logs").
builder.Host.UseSerilog((context, services, logger) => logger
    .ReadFrom.Configuration(context.Configuration)
    .ReadFrom.Services(services)
    .WriteToCleanCrmSinks(context.Configuration, "cleancrm-api"));
builder.AddCleanCrmSentry();

// Serilog's logger factory builds a new logger (with its own caches) on every CreateLogger call; ASP.NET creates one per
// authentication handler instance, i.e. per request. Cache them per category, as Microsoft's LoggerFactory does.
CachingLoggerFactory.Decorate(builder.Services);

builder.Services.AddOptions<ApiOptions>().Bind(builder.Configuration.GetSection(ApiOptions.SectionName)).ValidateDataAnnotations()
    .ValidateOnStart();
builder.Services.AddApplication(builder.Configuration);
builder.Services.AddInfrastructure(builder.Configuration);
builder.Services.AddHttpContextAccessor();
builder.Services.AddCleanCrmForwardedHeaders(builder.Configuration);
builder.Services.AddScoped<HttpCallerContext>();
builder.Services.AddScoped<ICallerContext>(sp => sp.GetRequiredService<HttpCallerContext>());
builder.Services.AddScoped<IRequestOrigin, HttpRequestOrigin>();

builder.Services.AddCleanCrmProblemDetails();
builder.Services.Configure<JsonOptions>(options => ApiJson.Configure(options.SerializerOptions));
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
builder.WebHost.ConfigureKestrel((context, kestrel) =>
    kestrel.Limits.MaxRequestBodySize = context.Configuration.GetValue<long?>($"{ApiOptions.SectionName}:MaxRequestBodyBytes")
        ?? 1_048_576);

builder.AddCleanCrmIdentity();
builder.AddCleanCrmAbuseProtection();
builder.AddCleanCrmPlanRateLimiting();
builder.Services.AddCleanCrmAuthentication(builder.Configuration, builder.Environment);
builder.Services.AddAuthorization();
builder.Services.AddAntiforgery(options => options.Cookie.Name = "cleancrm.antiforgery");

builder.Services.AddEndpointsApiExplorer();
builder.Services.AddHangfire((sp, configuration) =>
    configuration.UseCatalogStorage(sp.GetRequiredService<IOptions<CatalogDatabaseOptions>>().Value.ConnectionString ?? string.Empty));
builder.Services.AddHealthChecks().AddCheck<CatalogHealthCheck>("catalog", tags: ["ready"]);
builder.Services.AddOpenApiDocument((settings, services) =>
{
    settings.DocumentName = "v1";
    settings.Title = "CleanCrm API";
    settings.Version = "v1";
    settings.Description =
        "Multi-tenant CRM: every organization has its own PostgreSQL database. Org-scoped endpoints need the X-Org header.";
    settings.OperationProcessors.Add(new OperationConventions());
    settings.DocumentProcessors.Add(
        new DocumentConventions(services.GetRequiredService<IOptions<CleanCrm.Api.Security.IdentityOptions>>().Value.Issuer));
});

// Traces, metrics and the product meters (docs/OBSERVABILITY.md); the API adds ASP.NET Core and the /metrics exporter.
builder.Services.AddCleanCrmTelemetry(builder.Configuration, "cleancrm-api", publishCatalogGauges: true,
    tracing => tracing.AddAspNetCoreInstrumentation(options => options.EnrichWithHttpRequest = (activity, request) =>
    {
        var path = request.Path.Value ?? string.Empty;
        if (InvitationsEndpoints.RedactPath(path) is var redacted && !ReferenceEquals(redacted, path))
        {
            activity.SetTag("url.path", redacted);
            activity.DisplayName = $"{request.Method} {redacted}";
        }
    }),
    metrics => metrics.AddAspNetCoreInstrumentation().AddPrometheusExporter());

var app = builder.Build();

if (app.Environment.IsDevelopment() && app.Services.GetRequiredService<IOptions<ApiOptions>>().Value.MigrateOnStartup)
{
    var migrator = app.Services.GetRequiredService<DatabaseMigrator>();
    await migrator.MigrateCatalogAsync(CancellationToken.None);
    await migrator.MigrateTemplatesAsync(CancellationToken.None);
}

// Before everything that reads the client's address, scheme or host (rate limits, audit, OpenIddict's issuer, token binding).
app.UseCleanCrmForwardedHeaders();
app.UseSerilogRequestLogging(options =>
{
    options.GetLevel = (http, _, exception) =>
        http.RequestAborted.IsCancellationRequested ? Serilog.Events.LogEventLevel.Information
        : exception is not null || http.Response.StatusCode >= 500 ? Serilog.Events.LogEventLevel.Error
        : Serilog.Events.LogEventLevel.Information;

    // Paths that carry a credential (invitation tokens) are logged with the credential replaced.
    options.GetMessageTemplateProperties = (http, path, elapsed, status) =>
    [
        new("RequestMethod", new Serilog.Events.ScalarValue(http.Request.Method)),
        new("RequestPath", new Serilog.Events.ScalarValue(InvitationsEndpoints.RedactPath(path))),
        new("StatusCode", new Serilog.Events.ScalarValue(status)),
        new("Elapsed", new Serilog.Events.ScalarValue(elapsed)),
    ];
});
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseMiddleware<RequestSizeLimitMiddleware>();
app.UseSecurityHeaders();
app.UseCors(AbuseProtection.CorsPolicy);
app.UseRateLimiter();
app.UseOpenApi(settings => settings.Path = "/openapi/{documentName}.json");
app.UseSwaggerUi(settings =>
{
    settings.Path = "/swagger";
    settings.DocumentPath = "/openapi/{documentName}.json";
});
app.UseAuthentication();
app.UseMiddleware<RequestLogContextMiddleware>();
app.UseAuthorization();
app.UseMiddleware<OrgResolutionMiddleware>();
app.UseMiddleware<PlanRateLimitMiddleware>();

app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
app.MapPrometheusScrapingEndpoint("/metrics");
app.MapCompanies();
app.MapContacts();
app.MapOrganizations();
app.MapFleet();
app.MapTokenEndpoints();
app.MapSignIn();
app.MapSsoSignIn();
app.MapMe();
app.MapMeSecurity();
app.MapSso();
app.MapApiClients();
app.MapMembers();
app.MapInvitations();
app.MapPipelines();
app.MapBilling();
app.MapBackups();
app.MapDeals();
app.MapActivities();
app.MapTasks();
app.MapNotes();
app.MapMeetings();
app.MapCalendarEvents();
app.MapTags();
app.MapAuditLog();
app.MapReports();
app.MapPlatformAuditAndSupport();
app.MapImports();
app.MapCopilot();
app.MapProposals();
app.MapIntegrations();
app.MapIntegrationWebhooks();
app.MapOutgoingWebhooks();
app.MapWorkflows();
app.MapSlackSettings();
app.MapFathomSettings();

await app.RunAsync();

/// <summary>Entry point; public so integration tests can host it.</summary>
public partial class Program;
