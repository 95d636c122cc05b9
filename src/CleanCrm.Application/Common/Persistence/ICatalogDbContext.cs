using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Common.Persistence;

/// <summary>The catalog database: organizations, where their databases live, users, memberships and plans.</summary>
public interface ICatalogDbContext
{
    DbSet<Organization> Organizations { get; }

    DbSet<DatabaseServer> DatabaseServers { get; }

    DbSet<UserAccount> Users { get; }

    DbSet<Membership> Memberships { get; }

    DbSet<Plan> Plans { get; }

    DbSet<PlanFeature> PlanFeatures { get; }

    DbSet<ProvisioningRun> ProvisioningRuns { get; }

    DbSet<Invitation> Invitations { get; }

    DbSet<FeatureOverride> FeatureOverrides { get; }

    DbSet<LimitOverride> LimitOverrides { get; }

    DbSet<BillingSubscription> Subscriptions { get; }

    DbSet<WebhookEvent> WebhookEvents { get; }

    DbSet<UsageEvent> UsageEvents { get; }

    DbSet<UsageRollup> UsageRollups { get; }

    DbSet<Backup> Backups { get; }

    DbSet<BackupRestore> BackupRestores { get; }

    DbSet<BackupAccessEntry> BackupAccessLog { get; }

    /// <summary>Append-only: written by the platform audit behavior (through its own unit of work), never changed.</summary>
    DbSet<PlatformAuditEntry> PlatformAuditLog { get; }

    DbSet<SupportSession> SupportSessions { get; }

    DbSet<AccountToken> AccountTokens { get; }

    DbSet<RecoveryCode> RecoveryCodes { get; }

    /// <summary>Enterprise SSO: one identity provider per organization, and the email domains it owns.</summary>
    DbSet<OrganizationIdentityProvider> IdentityProviders { get; }

    DbSet<IdentityProviderDomain> IdentityProviderDomains { get; }

    Microsoft.EntityFrameworkCore.Infrastructure.DatabaseFacade Database { get; }

    Task<int> SaveChangesAsync(CancellationToken cancellationToken = default);

    Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry<TEntity> Entry<TEntity>(TEntity entity)
        where TEntity : class;

    /// <summary>Takes the organization's row lock until the current transaction ends (serializes seat accounting).</summary>
    Task LockOrganizationAsync(Guid organizationId, CancellationToken cancellationToken);
}
