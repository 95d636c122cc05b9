using CleanCrm.Application.Common.Secrets;
using CleanCrm.Domain.Catalog;
using Npgsql;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>Builds admin (migrator) connection strings for a database server from the catalog row and the secret store.</summary>
public sealed class DatabaseServerAdmin(ISecretStore secrets)
{
    /// <summary>
    /// Unpooled on purpose: admin work is rare, and a pooled connection left open on the template database would make
    /// every clone fail ("source database is being accessed by other users").
    /// </summary>
    public async Task<string> ConnectionStringAsync(DatabaseServer server, string database, CancellationToken cancellationToken)
    {
        var password = await secrets.GetAsync(server.AdminSecretName, cancellationToken)
                       ?? throw new InvalidOperationException($"The admin password of database server '{server.Name}' is missing from " +
                           $"the secret store ({server.AdminSecretName}).");
        return new NpgsqlConnectionStringBuilder
        {
            Host = server.Host,
            Port = server.Port,
            Username = server.AdminUsername,
            Password = password,
            Database = database,
            Pooling = false,
            Timeout = 15,
            CommandTimeout = 300,
            ApplicationName = "cleancrm-migrator",
        }.ConnectionString;
    }
}
