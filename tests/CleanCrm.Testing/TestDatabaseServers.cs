using Npgsql;

namespace CleanCrm.Testing;

/// <summary>The real PostgreSQL servers the tests use, started by scripts/test.sh (CLEANCRM_TEST_PG, CLEANCRM_TEST_PG2).</summary>
public static class TestDatabaseServers
{
    public static NpgsqlConnectionStringBuilder Primary { get; } = Read("CLEANCRM_TEST_PG")
        ?? throw new InvalidOperationException("CLEANCRM_TEST_PG is not set: run the tests with scripts/test.sh, which starts PostgreSQL " +
            "(or set it to a superuser connection string).");

    /// <summary>A second server for placement and cross-server isolation; falls back to the primary when absent.</summary>
    public static NpgsqlConnectionStringBuilder Secondary { get; } = Read("CLEANCRM_TEST_PG2") ?? Primary;

    public static bool HasDistinctSecondary => Secondary.Port != Primary.Port || Secondary.Host != Primary.Host;

    /// <summary>Why a test that needs two servers cannot run its scenario.</summary>
    public const string NoDistinctSecondaryReason =
        "CLEANCRM_TEST_PG2 is not set (or names the same server as CLEANCRM_TEST_PG): run the tests through scripts/test.sh, "
        + "which starts two servers, or set CLEANCRM_PG2 next to CLEANCRM_PG.";

    /// <summary>The second server, or a failure of the calling test with the reason when there is none.</summary>
    public static NpgsqlConnectionStringBuilder RequireDistinctSecondary() =>
        HasDistinctSecondary ? Secondary : throw new InvalidOperationException(NoDistinctSecondaryReason);

    public static string ConnectionString(NpgsqlConnectionStringBuilder server, string database, bool pooling = false)
    {
        var builder = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = database, Pooling = pooling };
        return builder.ConnectionString;
    }

    public static async Task ExecuteAsync(NpgsqlConnectionStringBuilder server, string sql, string database = "postgres")
    {
        await using var connection = new NpgsqlConnection(ConnectionString(server, database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T?> ScalarAsync<T>(NpgsqlConnectionStringBuilder server, string database, string sql,
        params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(server, database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull
            ? default
            : (T)Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static NpgsqlConnectionStringBuilder? Read(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? new NpgsqlConnectionStringBuilder(value) : null;
}
