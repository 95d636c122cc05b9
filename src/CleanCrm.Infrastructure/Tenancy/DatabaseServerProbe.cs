using System.Net.Sockets;
using CleanCrm.Application.DatabaseServers;
using CleanCrm.Infrastructure.Provisioning;
using Npgsql;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>
/// Opens one unpooled connection to the server's <c>postgres</c> database with the given credentials and checks that the
/// role may create databases and roles (what provisioning needs); the answer is a sentence for the admin, never the password.
/// </summary>
public sealed class DatabaseServerProbe : IDatabaseServerProbe
{
    public async Task<string?> TestAsync(string host, int port, string username, string password, CancellationToken cancellationToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = host,
            Port = port,
            Username = username,
            Password = password,
            Database = "postgres",
            Pooling = false,
            Timeout = 5,
            CommandTimeout = 10,
            ApplicationName = "cleancrm-probe",
        }.ConnectionString;
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand(
                "SELECT rolsuper OR (rolcreatedb AND rolcreaterole) FROM pg_roles WHERE rolname = current_user", connection);
            return await command.ExecuteScalarAsync(cancellationToken) is true
                ? null
                : "the role may not create databases and roles (it needs CREATEDB and CREATEROLE, or superuser).";
        }
        catch (PostgresException exception)
        {
            return $"the server refused the connection ({exception.SqlState}: {exception.MessageText}).";
        }
        catch (Exception exception) when (exception is NpgsqlException or SocketException or TimeoutException or ArgumentException)
        {
            return FleetMigrator.Describe(exception);
        }
    }
}
