using CleanCrm.Application.Common.Persistence;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Secrets;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Persistence.Catalog;

/// <summary>The catalog database: every organization, where its database lives, users, memberships, plans, secrets.</summary>
public sealed class CatalogDbContext(DbContextOptions<CatalogDbContext> options) : DbContext(options), ICatalogDbContext,
    IDataProtectionKeyContext
{
    public DbSet<Organization> Organizations => Set<Organization>();

    public DbSet<DatabaseServer> DatabaseServers => Set<DatabaseServer>();

    public DbSet<UserAccount> Users => Set<UserAccount>();

    public DbSet<Membership> Memberships => Set<Membership>();

    public DbSet<Plan> Plans => Set<Plan>();

    public DbSet<PlanFeature> PlanFeatures => Set<PlanFeature>();

    public DbSet<ProvisioningRun> ProvisioningRuns => Set<ProvisioningRun>();

    public DbSet<Invitation> Invitations => Set<Invitation>();

    public DbSet<OutgoingEmail> OutgoingEmails => Set<OutgoingEmail>();

    public DbSet<FeatureOverride> FeatureOverrides => Set<FeatureOverride>();

    public DbSet<LimitOverride> LimitOverrides => Set<LimitOverride>();

    public DbSet<BillingSubscription> Subscriptions => Set<BillingSubscription>();

    public DbSet<WebhookEvent> WebhookEvents => Set<WebhookEvent>();

    public DbSet<UsageEvent> UsageEvents => Set<UsageEvent>();

    public DbSet<UsageRollup> UsageRollups => Set<UsageRollup>();

    public DbSet<Backup> Backups => Set<Backup>();

    public DbSet<BackupRestore> BackupRestores => Set<BackupRestore>();

    public DbSet<BackupAccessEntry> BackupAccessLog => Set<BackupAccessEntry>();

    public DbSet<PlatformAuditEntry> PlatformAuditLog => Set<PlatformAuditEntry>();

    public DbSet<SupportSession> SupportSessions => Set<SupportSession>();

    public DbSet<AccountToken> AccountTokens => Set<AccountToken>();

    public DbSet<RecoveryCode> RecoveryCodes => Set<RecoveryCode>();

    public DbSet<StoredSecret> Secrets => Set<StoredSecret>();

    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    public DbSet<SessionRevocation> SessionRevocations => Set<SessionRevocation>();

    public DbSet<SigningKey> SigningKeys => Set<SigningKey>();

    public DbSet<OrganizationIdentityProvider> IdentityProviders => Set<OrganizationIdentityProvider>();

    public DbSet<IdentityProviderDomain> IdentityProviderDomains => Set<IdentityProviderDomain>();

    public DbSet<WarmPoolDatabase> WarmPoolDatabases => Set<WarmPoolDatabase>();

    public DbSet<IntegrationConnection> IntegrationConnections => Set<IntegrationConnection>();

    public DbSet<IntegrationAuthorization> IntegrationAuthorizations => Set<IntegrationAuthorization>();

    public DbSet<IntegrationWebhookDelivery> IntegrationWebhookInbox => Set<IntegrationWebhookDelivery>();

    public override Task<int> SaveChangesAsync(CancellationToken cancellationToken = default) =>
        Tenant.DatabaseErrors.TranslateAsync(() => base.SaveChangesAsync(cancellationToken));

    public Task LockOrganizationAsync(Guid organizationId, CancellationToken cancellationToken) =>
        Database.ExecuteSqlAsync($"SELECT 1 FROM organizations WHERE id = {organizationId} FOR UPDATE", cancellationToken);

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(CatalogDbContext).Assembly,
            type => type.Namespace?.EndsWith("Catalog.Configurations", StringComparison.Ordinal) == true);
    }
}
