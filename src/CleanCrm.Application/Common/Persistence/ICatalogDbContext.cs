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

    DbSet<Backup> Backups { get; }

    DbSet<BackupRestore> BackupRestores { get; }

    DbSet<BackupAccessEntry> BackupAccessLog { get; }

    Microsoft.EntityFrameworkCore.Infrastructure.DatabaseFacade Database { get; }

    Task<int> SaveChangesAsync(CancellationToken cancellationToken = default);
}
