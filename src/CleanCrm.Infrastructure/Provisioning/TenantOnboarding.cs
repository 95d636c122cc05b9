using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>
/// Takes an organization row from pending to active: place it, create role + secret + database, grant, migrate, seed
/// the members, activate. Each step is idempotent; the provisioning worker runs it as recorded, resumable steps.
/// </summary>
public sealed class TenantOnboarding(
    IDbContextFactory<CatalogDbContext> catalogFactory,
    TenantPlacement placement,
    TenantDatabaseProvisioner provisioner,
    DatabaseServerAdmin admin,
    TenantDirectory directory,
    TimeProvider clock)
{
    public async Task<TenantDatabaseOrigin> ProvisionAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var organization = await db.Organizations.Include(o => o.DatabaseServer).FirstAsync(o => o.Id == organizationId, cancellationToken);
        if (organization.DatabaseServer is null)
        {
            var server = await placement.ChooseServerAsync(db, cancellationToken);
            organization.AssignDatabase(server.Id);
            organization.DatabaseServer = server;
        }

        organization.Status = OrganizationStatus.Provisioning;
        organization.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);

        var target = organization.DatabaseServer;
        await provisioner.EnsureRoleAsync(target, organizationId, cancellationToken);
        var origin = await provisioner.EnsureDatabaseAsync(target, organizationId, cancellationToken);
        var version = await provisioner.MigrateAsync(target, organizationId, cancellationToken);
        await provisioner.GrantAsync(target, organizationId, cancellationToken);
        await SeedMembersAsync(db, target, organization, cancellationToken);

        organization.Activate(clock.GetUtcNow(), version);
        await db.SaveChangesAsync(cancellationToken);
        directory.Invalidate(organizationId);
        return origin;
    }

    /// <summary>Copies the catalog memberships into the tenant's members table (insert or update).</summary>
    public async Task SeedMembersAsync(CatalogDbContext db, DatabaseServer server, Organization organization, CancellationToken cancellationToken)
    {
        var members = await db.Memberships.AsNoTracking()
            .Where(m => m.OrganizationId == organization.Id)
            .Select(m => new { m.UserId, m.User!.Email, m.User.Name, m.Role })
            .ToListAsync(cancellationToken);
        if (members.Count == 0)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(await admin.ConnectionStringAsync(server, organization.DatabaseName, cancellationToken));
        await connection.OpenAsync(cancellationToken);
        var now = clock.GetUtcNow();
        foreach (var member in members)
        {
            await using var command = new NpgsqlCommand(
                """
                INSERT INTO members (id, email, name, role, is_active, created_at, updated_at)
                VALUES ($1, $2, $3, $4, true, $5, $5)
                ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, role = excluded.role, is_active = true, updated_at = excluded.updated_at
                """,
                connection);
            command.Parameters.AddWithValue(member.UserId);
            command.Parameters.AddWithValue(member.Email);
            command.Parameters.AddWithValue(member.Name);
            command.Parameters.AddWithValue(System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Role.ToString()));
            command.Parameters.AddWithValue(now);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
