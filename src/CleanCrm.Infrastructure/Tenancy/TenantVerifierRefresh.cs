using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>
/// Rewrites every tenant role's SCRAM verifier from its unchanged password with <see cref="ScramVerifier.Iterations"/>
/// (ADR 0016): roles created with the former 4096 iterations get the cheaper verifier. Open sessions and pooled
/// connections are not affected, the password and the secret store stay as they are. Idempotent.
/// </summary>
public sealed partial class TenantVerifierRefresh(
    IDbContextFactory<CatalogDbContext> catalog,
    DatabaseServerAdmin admin,
    ISecretStore secrets,
    ILogger<TenantVerifierRefresh> logger)
{
    public async Task<(int Refreshed, int Skipped)> RefreshAsync(CancellationToken cancellationToken)
    {
        List<Organization> organizations;
        await using (var db = await catalog.CreateDbContextAsync(cancellationToken))
        {
            organizations = await db.Organizations.AsNoTracking().Include(o => o.DatabaseServer)
                .Where(o => o.DatabaseServerId != null && o.Status != OrganizationStatus.Deleted)
                .OrderBy(o => o.DatabaseServerId).ToListAsync(cancellationToken);
        }

        var refreshed = 0;
        var skipped = 0;
        foreach (var server in organizations.GroupBy(o => o.DatabaseServerId))
        {
            var first = server.First().DatabaseServer!;
            await using var connection = new NpgsqlConnection(await admin.ConnectionStringAsync(first, "postgres", cancellationToken));
            await connection.OpenAsync(cancellationToken);
            foreach (var organization in server)
            {
                var password = await secrets.GetAsync(SecretName.ForTenantDatabase(organization.Id), cancellationToken);
                if (password is null)
                {
                    LogSkipped(logger, organization.Id, "no password in the secret store");
                    skipped++;
                    continue;
                }

                var role = organization.DatabaseRole.Replace("\"", "\"\"", StringComparison.Ordinal);
                await using var alter = new NpgsqlCommand($"ALTER ROLE \"{role}\" PASSWORD '{ScramVerifier.Create(password)}'", connection);
                try
                {
                    await alter.ExecuteNonQueryAsync(cancellationToken);
                    refreshed++;
                }
                catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UndefinedObject)
                {
                    LogSkipped(logger, organization.Id, "its role does not exist");
                    skipped++;
                }
            }
        }

        return (refreshed, skipped);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped the verifier of organization {OrganizationId}: {Reason}")]
    private static partial void LogSkipped(ILogger logger, Guid organizationId, string reason);
}
