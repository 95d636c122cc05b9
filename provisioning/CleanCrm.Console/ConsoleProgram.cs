using CleanCrm.Application;
using CleanCrm.Application.Common.Security;
using CleanCrm.Console.Security;
using CleanCrm.Infrastructure;
using CleanCrm.Infrastructure.Http;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Secrets;
using Hangfire;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Serilog;
using Serilog.Formatting.Compact;

namespace CleanCrm.Console;

/// <summary>
/// The provisioning console: Razor Pages for platform admins that send Application requests in-process against the catalog
/// (docs/CONSOLE.md, docs/adr/0011-provisioning-console-razor-pages.md). The worker runs the jobs it enqueues.
/// </summary>
public sealed class ConsoleProgram
{
    public const string JobsPath = "/jobs";

    private ConsoleProgram()
    {
    }

    public static async Task Main(string[] args) => await Build(args).RunAsync();

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddCleanCrmKeyVaultSecrets();
        builder.Host.UseSerilog((context, services, logger) => logger
            .ReadFrom.Configuration(context.Configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext()
            .Enrich.WithProperty("Service", "cleancrm-console")
            .WriteTo.Console(new RenderedCompactJsonFormatter()));

        builder.Services.AddOptions<ConsoleOptions>().Bind(builder.Configuration.GetSection(ConsoleOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddApplication(builder.Configuration);
        builder.Services.AddInfrastructure(builder.Configuration);
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddCleanCrmForwardedHeaders(builder.Configuration);
        builder.Services.AddScoped<ConsoleCallerContext>();
        builder.Services.AddScoped<ICallerContext>(sp => sp.GetRequiredService<ConsoleCallerContext>());
        builder.Services.AddScoped<IRequestOrigin, ConsoleRequestOrigin>();
        builder.Services.AddHttpClient(Presentation.ApiMetrics.ClientName);
        builder.Services.AddSingleton<Presentation.ApiMetrics>();
        builder.Services.AddHealthChecks().AddCheck<CatalogHealthCheck>("catalog", tags: ["ready"]);

        var catalog = builder.Configuration.GetConnectionString("Catalog") ?? string.Empty;
        builder.Services.AddHangfire(configuration => configuration.UseCatalogStorage(catalog));

        builder.AddConsoleAuthentication();
        builder.Services.AddAntiforgery(options => options.Cookie.Name = "cleancrm.console.antiforgery");
        builder.Services.AddRazorPages(options =>
        {
            options.Conventions.AllowAnonymousToPage("/Status");
            options.Conventions.AllowAnonymousToPage("/SignedOut");
        });

        var app = builder.Build();
        // Before everything that reads the client's address or scheme (audit, the OIDC redirect URI, secure cookies).
        app.UseCleanCrmForwardedHeaders();
        app.UseSerilogRequestLogging();
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error");
        }

        app.UseConsoleSecurityHeaders();
        app.UseStatusCodePagesWithReExecute("/status/{0}");
        app.UseStaticFiles();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }).AllowAnonymous();
        app.MapRazorPages();
        app.MapHangfireDashboard(JobsPath, new DashboardOptions
        {
            // Endpoint authorization (platform admins) runs first; the filter repeats the check inside Hangfire.
            Authorization = [new PlatformAdminDashboardFilter()],
            DisplayStorageConnectionString = false,
            AppPath = "/",
            DashboardTitle = "CleanCrm jobs",
        }).RequireAuthorization(ConsoleAuthentication.PlatformAdminPolicy);
        return app;
    }
}
