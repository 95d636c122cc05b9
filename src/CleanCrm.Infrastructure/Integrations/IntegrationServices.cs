using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations;

public static class IntegrationServices
{
    /// <summary>Integrations (docs/INTEGRATIONS.md): options validated at start-up, OAuth client, connections, jobs, metrics.</summary>
    public static IServiceCollection AddIntegrations(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IntegrationOptions>().Bind(configuration.GetSection(IntegrationOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<IntegrationOptions>, IntegrationOptionsValidator>();
        services.AddHttpClient(OAuthClient.HttpClientName, (sp, client) =>
            client.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<IntegrationOptions>>().Value.RequestTimeoutSeconds));
        services.AddSingleton<IntegrationMetrics>();
        services.AddSingleton<OAuthClient>();
        services.AddSingleton<IntegrationTokenStore>();
        services.AddSingleton<IntegrationConnections>();
        services.AddSingleton<Application.Integrations.IIntegrationConnections>(sp => sp.GetRequiredService<IntegrationConnections>());
        services.AddSingleton<Application.Integrations.IIntegrationDefaults, IntegrationDefaults>();
        services.AddTransient<TokenRefreshJob>();
        services.AddSingleton<Webhooks.ProviderApi>();
        services.AddSingleton<Webhooks.WebhookRegistrations>();
        services.AddSingleton<IIntegrationLifecycle>(sp => sp.GetRequiredService<Webhooks.WebhookRegistrations>());
        services.AddTransient<Webhooks.GoogleChannelRenewalJob>();
        services.AddTransient<Webhooks.WebhookInboxSweepJob>();
        services.AddSingleton<Webhooks.WebhookInbox>();
        services.AddSingleton<Webhooks.WebhookReceiver>();
        services.AddSingleton<Webhooks.IWebhookHandler, Webhooks.SlackWebhookHandler>();
        services.AddSingleton<Webhooks.FathomWebhookHandler>();
        services.AddSingleton<Webhooks.IWebhookHandler>(sp => sp.GetRequiredService<Webhooks.FathomWebhookHandler>());
        services.AddSingleton<IIntegrationLifecycle, Webhooks.SyncOnConnect>();
        services.AddSingleton<Webhooks.IWebhookHandler, Webhooks.SavvyCalWebhookHandler>();
        services.AddSingleton<Webhooks.GoogleCalendarSync>();
        services.AddSingleton<Webhooks.IWebhookHandler>(sp => sp.GetRequiredService<Webhooks.GoogleCalendarSync>());
        services.AddTransient<Webhooks.SlackNotificationJob>();
        services.AddOptions<Enrichment.SafeFetchOptions>().Bind(configuration.GetSection(Enrichment.SafeFetchOptions.SectionName))
            .Validate(o => o.MaxBytes > 0 && o.TimeoutSeconds is > 0 and <= 60 && o.MaxRedirects is >= 0 and <= 10,
                $"{Enrichment.SafeFetchOptions.SectionName}: MaxBytes > 0, TimeoutSeconds 1-60 and MaxRedirects 0-10 are required.")
            .ValidateOnStart();
        services.AddSingleton<Enrichment.SafeHttpFetcher>();
        services.AddOptions<Enrichment.CompanyEnrichmentOptions>()
            .Bind(configuration.GetSection(Enrichment.CompanyEnrichmentOptions.SectionName))
            .Validate(o => o.ThumbnailSize is >= 16 and <= 128 && o.MaxSourcePixels is >= 16 and <= 16384
                           && o.MaxCandidates is >= 1 and <= 10 && o.HomePageUrl.Contains("{domain}", StringComparison.Ordinal)
                           && o.HomePageUrl.StartsWith("http", StringComparison.Ordinal),
                $"{Enrichment.CompanyEnrichmentOptions.SectionName}: ThumbnailSize 16-128, MaxSourcePixels 16-16384, MaxCandidates 1-10 "
                + "and an http(s) HomePageUrl containing {domain} are required.")
            .ValidateOnStart();
        services.AddSingleton<Enrichment.ICompanyEnrichmentProvider, Enrichment.HttpCompanyEnrichmentProvider>();
        services.AddSingleton<Application.Companies.ICompanyEnrichmentQueue, Enrichment.HangfireCompanyEnrichmentQueue>();
        services.AddTransient<Enrichment.CompanyEnrichmentJob>();
        services.AddTransient<Webhooks.FathomBackfillJob>();
        services.AddTransient<Webhooks.IntegrationWebhookJob>();
        return services;
    }
}
