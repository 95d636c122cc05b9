using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Infrastructure.Options;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Persistence.Tenant;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Secrets;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure;

/// <summary>The catalog connection (<c>ConnectionStrings:Catalog</c>), validated at start-up.</summary>
public sealed class CatalogDatabaseOptions
{
    public string? ConnectionString { get; set; }
}

internal sealed class CatalogDatabaseOptionsValidator : IValidateOptions<CatalogDatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, CatalogDatabaseOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail(
                "ConnectionStrings:Catalog is required: the catalog " +
                    "database, e.g. Host=127.0.0.1;Port=5432;Database=cleancrm_catalog;Username=...;Password=... (environment variable " +
                    "ConnectionStrings__Catalog).");
        }

        try
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(options.ConnectionString);
            return string.IsNullOrEmpty(builder.Database)
                ? ValidateOptionsResult.Fail("ConnectionStrings:Catalog must name the catalog database (Database=...).")
                : ValidateOptionsResult.Success;
        }
        catch (ArgumentException exception)
        {
            return ValidateOptionsResult.Fail(
                $"ConnectionStrings:Catalog is not a valid PostgreSQL connection string: {exception.Message}");
        }
    }
}

public static class DependencyInjection
{
    public static IServiceCollection AddInfrastructure(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CatalogDatabaseOptions>()
            .Configure(o => o.ConnectionString = configuration.GetConnectionString("Catalog"))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<CatalogDatabaseOptions>, CatalogDatabaseOptionsValidator>();
        services.AddOptions<TenancyOptions>().Bind(configuration.GetSection(TenancyOptions.SectionName)).ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TenancyOptions>, TenancyOptionsValidator>();
        services.AddOptions<MigrationOptions>().Bind(configuration.GetSection(MigrationOptions.SectionName)).ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<SecretsOptions>().Bind(configuration.GetSection(SecretsOptions.SectionName)).ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddPooledDbContextFactory<CatalogDbContext>((sp, options) =>
        {
            var connectionString = sp.GetRequiredService<IOptions<CatalogDatabaseOptions>>().Value.ConnectionString;
            options.UseNpgsql(connectionString).UseSnakeCaseNamingConvention().UseOpenIddict<Guid>();
        });
        services.AddOpenIddict()
            .AddCore(options => options.UseEntityFrameworkCore().UseDbContext<CatalogDbContext>().ReplaceDefaultEntities<Guid>());
        services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<CatalogDbContext>>().CreateDbContext());
        services.AddScoped<ICatalogDbContext>(sp => sp.GetRequiredService<CatalogDbContext>());
        services.AddDataProtection().SetApplicationName("CleanCrm").PersistKeysToDbContext<CatalogDbContext>();

        var provider = configuration.GetSection(SecretsOptions.SectionName)["Provider"] ?? "Local";
        if (string.Equals(provider, "KeyVault", StringComparison.Ordinal))
        {
            services.AddKeyVaultSecretStore(configuration);
        }
        else
        {
            services.AddSingleton<ISecretStore, LocalSecretStore>();
        }

        services.AddMemoryCache();
        services.AddMetrics();
        services.AddSingleton<TenantDirectory>();
        services.AddSingleton<CatalogChangeListener>();
        services.AddHostedService(sp => sp.GetRequiredService<CatalogChangeListener>());
        services.AddSingleton<TenantConnectionMetrics>();
        services.AddSingleton<TenantConnectionPool>();
        services.AddSingleton<TenantConnectionInterceptor>();
        services.AddSingleton<AuditLogInterceptor>();
        services.AddSingleton<TenantScopeAccessor>();
        services.AddSingleton<ITenantContext>(sp => sp.GetRequiredService<TenantScopeAccessor>());
        services.AddSingleton<TenantScopeFactory>();
        services.AddSingleton<ITenantScopeFactory>(sp => sp.GetRequiredService<TenantScopeFactory>());
        services.AddSingleton<TenantDbContextFactory>();
        services.AddScoped<ScopedTenantDbContext>();
        services.AddScoped(sp => sp.GetRequiredService<ScopedTenantDbContext>().Context);
        services.AddScoped<ITenantDbContext>(sp => sp.GetRequiredService<ScopedTenantDbContext>().Context);
        services.AddSingleton<ITenantDatabaseAccess, TenantDatabaseAccess>();
        services.AddSingleton<Application.PlatformAudit.IPlatformAuditWriter, Persistence.Catalog.PlatformAuditWriter>();

        services.AddSingleton<DatabaseServerAdmin>();
        services.AddSingleton<Application.DatabaseServers.IDatabaseServerProbe, DatabaseServerProbe>();
        services.AddSingleton<Provisioning.DatabaseSizes>();
        services.AddTransient<Provisioning.DatabaseSizeJob>();
        services.AddSingleton<TenantDatabaseProvisioner>();
        services.AddSingleton<TenantPlacement>();
        services.AddSingleton<WarmPool>();
        services.AddSingleton<WarmPoolRefillSignal>();
        services.AddOptions<WarmPoolOptions>().Bind(configuration.GetSection(WarmPoolOptions.SectionName)).ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<TenantOnboarding>();
        services.AddSingleton<TenantSeeder>();
        services.AddSingleton<ProvisioningMetrics>();
        services.AddSingleton<Observability.OperationsMetrics>();
        services.AddSingleton<ProvisioningRunner>();
        services.AddTransient<ProvisioningJob>();
        services.AddSingleton<OrganizationDeletionJob>();
        services.AddOptions<PostgresToolsOptions>().Bind(configuration.GetSection(PostgresToolsOptions.SectionName));
        services.AddSingleton<PostgresTools>();
        services.AddSingleton<TenantMover>();
        services.AddTransient<TenantMoveJob>();
        services.AddSingleton<Application.Organizations.ITenantMoveScheduler, HangfireTenantMoveScheduler>();
        services.AddSingleton<Application.Organizations.IOrganizationDeletionScheduler, HangfireOrganizationDeletionScheduler>();
        services.AddSingleton<IProvisioningQueue, HangfireProvisioningQueue>();
        services.AddSingleton<IPasswordHashing, PasswordHashing>();
        services.AddOptions<ProvisioningOptions>().Bind(configuration.GetSection(ProvisioningOptions.SectionName)).ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<DatabaseMigrator>();
        services.AddSingleton<IdentityBootstrap>();
        services.AddSingleton<Application.ApiClients.IApiClientRegistry, OpenIddictApiClientRegistry>();
        services.AddSingleton<Identity.SessionRevocations>();
        services.AddSingleton<Identity.SigningKeyStore>();
        services.AddSingleton<Application.Common.Identity.IHomeRealmDiscovery, Identity.HomeRealmDiscovery>();
        services.AddScoped<Identity.UserSessionStore>();
        services.AddScoped<Application.Common.Identity.IUserSessions>(sp => sp.GetRequiredService<Identity.UserSessionStore>());
        services.AddSingleton<FleetMigrator>();
        services.AddTransient<Jobs.FleetMigrationJob>();
        services.AddSingleton<Application.Fleet.IFleetMigrations, Jobs.HangfireFleetMigrations>();
        services.AddEmail(configuration);
        services.AddBilling(configuration);

        services.AddOptions<Backups.BackupOptions>().Bind(configuration.GetSection(Backups.BackupOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<Backups.BackupOptions>, Backups.BackupOptionsValidator>();
        if (string.Equals(configuration.GetSection(Backups.BackupOptions.SectionName)["Store"], "AzureBlob", StringComparison.Ordinal))
        {
            services.AddSingleton<Backups.IBackupStore, Backups.AzureBlobBackupStore>();
        }
        else
        {
            services.AddSingleton<Backups.FileSystemBackupStore>();
            services.AddSingleton<Backups.IBackupStore>(sp => sp.GetRequiredService<Backups.FileSystemBackupStore>());
        }

        services.AddSingleton<Backups.TenantBackupRunner>();
        services.AddSingleton<Backups.TenantRestorer>();
        services.AddSingleton<Backups.RestoreDrill>();
        services.AddTransient<Backups.BackupJob>();
        services.AddTransient<Backups.RestoreJob>();
        services.AddTransient<Backups.BackupScheduleJob>();
        services.AddTransient<Backups.BackupPruner>();
        services.AddSingleton<Application.Common.Backups.IBackupOperations, Backups.BackupOperations>();

        services.AddOptions<Imports.ImportOptions>().Bind(configuration.GetSection(Imports.ImportOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<Application.Imports.IImportUploadStore, Imports.ImportUploadStore>();
        services.AddSingleton<Application.Imports.IImportQueue, Imports.HangfireImportQueue>();
        services.AddSingleton<Imports.ContactImporter>();
        services.AddTransient<Imports.ContactImportJob>();
        Integrations.IntegrationServices.AddIntegrations(services, configuration);
        Workflows.WorkflowServices.AddWorkflows(services, configuration);
        services.AddAi(configuration);
        return services;
    }

    private static void AddEmail(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<Email.EmailOptions>().Bind(configuration.GetSection(Email.EmailOptions.SectionName)).ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<Email.EmailQueue>();
        services.AddScoped<Application.Common.Email.IEmailOutbox, Email.EmailOutbox>();
        services.AddSingleton<Application.Common.Email.IPublicLinks, Email.PublicLinks>();
        services.AddTransient<Email.EmailDeliveryJob>();
        services.AddSingleton<Email.EmailOutboxSweeper>();
        services.AddSingleton<Application.Invitations.ITenantMemberSync, Identity.TenantMemberSync>();
        services.AddSingleton<Application.Common.Identity.ITwoFactorKeyProtector, Identity.TwoFactorKeyProtector>();
        services.AddScoped<Application.Common.Identity.ISessionRevocation, Identity.OpenIddictSessionRevocation>();
        services.AddScoped<Application.Common.Identity.IAccountLinks>(sp => new Identity.AccountLinks(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<Email.EmailOptions>>(), configuration,
            sp.GetService<Microsoft.AspNetCore.Http.IHttpContextAccessor>()));
        services.AddScoped<Application.Common.Identity.AccountSecurity>();
        services.AddTransient<Identity.EmailVerificationReminderJob>();
    }

    private static void AddAi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<Ai.AiOptions>().Bind(configuration.GetSection(Ai.AiOptions.SectionName)).ValidateDataAnnotations()
            .ValidateOnStart();
        // The SDK applies its own timeout and retries; the factory's default 100 s would cut long answers short.
        services.AddHttpClient(Ai.OpenAiCompatibleProvider.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton<Application.Common.Ai.IAiProvider, Ai.OpenAiCompatibleProvider>();
        services.AddSingleton<Application.Proposals.IMarkdownRenderer, Ai.SanitizedMarkdownRenderer>();
        services.AddSingleton<Application.Proposals.IProposalQueue, Ai.HangfireProposalQueue>();
        services.AddTransient<Ai.ProposalGenerationJob>();
    }

    private static void AddBilling(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<Billing.StripeOptions>().Bind(configuration.GetSection(Billing.StripeOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<Billing.StripeOptions>, Billing.StripeOptionsValidator>();
        services.AddHttpClient(Billing.StripePaymentProvider.HttpClientName, (sp, client) =>
            client.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<Billing.StripeOptions>>().Value.RequestTimeoutSeconds));
        services.AddSingleton<Billing.CachedBillingProfiles>();
        services.AddSingleton<Application.Billing.IBillingProfiles>(sp => sp.GetRequiredService<Billing.CachedBillingProfiles>());
        services.AddSingleton<Microsoft.FeatureManagement.IFeatureDefinitionProvider, Billing.PremiumFeatureDefinitionProvider>();
        Microsoft.FeatureManagement.ServiceCollectionExtensions.AddFeatureManagement(services).AddFeatureFilter<Billing.PlanFeatureFilter>()
            .AddFeatureFilter<Billing.OrganizationPlanFeatureFilter>();
        services.AddSingleton<Application.Common.Features.IFeatures, Billing.FeatureManagementFeatures>();
        services.AddSingleton<Application.Billing.IUsageMeter, Billing.CatalogUsageMeter>();
        services.AddSingleton<Billing.StripePaymentProvider>();
        services.AddSingleton<Application.Billing.IPaymentProvider>(sp => sp.GetRequiredService<Billing.StripePaymentProvider>());
        services.AddSingleton<Billing.StripeWebhookProcessor>();
        services.AddTransient<Billing.BillingDunningJob>();
        services.AddTransient<Billing.UsageReportingJob>();
        services.AddTransient<Billing.UsageReservationSweepJob>();
    }
}
