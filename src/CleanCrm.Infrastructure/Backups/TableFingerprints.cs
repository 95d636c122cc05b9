using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Tenancy;
using Npgsql;

namespace CleanCrm.Infrastructure.Backups;

/// <summary>
/// Row count and content hash of every table of a tenant database: md5 over the sorted md5s of each row's text. Taken
/// at backup time in the dump's own snapshot and again after a restore; equal fingerprints mean the same rows.
/// </summary>
public static class TableFingerprints
{
    /// <summary>Fixes how values print, so a row's text does not depend on the server's or session's defaults.</summary>
    public const string StableOutputSettings =
        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'";

    public static async Task<List<BackupTable>> ComputeAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
                         "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname::text COLLATE \"C\"",
                         connection))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add(reader.GetString(0));
            }
        }

        var result = new List<BackupTable>(tables.Count);
        foreach (var table in tables)
        {
            await using var command = new NpgsqlCommand(
                $"SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h COLLATE \"C\"), '')) FROM (SELECT md5(t::text) AS h FROM public.{TenantDatabaseProvisioner.Quote(table)} t) s",
                connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            result.Add(new BackupTable { TableName = table, RowCount = reader.GetInt64(0), ContentHash = reader.GetString(1) });
        }

        return result;
    }

    /// <summary>The last applied tenant migration, read in the caller's snapshot.</summary>
    public static async Task<string?> SchemaVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT max(coalesce(to_jsonb(h) ->> 'migration_id', to_jsonb(h) ->> 'MigrationId')) FROM public.{TenantDatabaseProvisioner.Quote(TenantMigrations.HistoryTable)} h",
            connection);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>What differs between the recorded and the actual fingerprints; empty when they match.</summary>
    public static List<string> Differences(IReadOnlyCollection<BackupTable> expected, IReadOnlyCollection<BackupTable> actual)
    {
        var differences = new List<string>();
        var actualByName = actual.ToDictionary(t => t.TableName, StringComparer.Ordinal);
        foreach (var table in expected.OrderBy(t => t.TableName, StringComparer.Ordinal))
        {
            if (!actualByName.TryGetValue(table.TableName, out var found))
            {
                differences.Add($"{table.TableName}: missing");
            }
            else if (found.RowCount != table.RowCount)
            {
                differences.Add($"{table.TableName}: {found.RowCount} rows, expected {table.RowCount}");
            }
            else if (!string.Equals(found.ContentHash, table.ContentHash, StringComparison.Ordinal))
            {
                differences.Add($"{table.TableName}: content hash differs");
            }
        }

        var expectedNames = expected.Select(t => t.TableName).ToHashSet(StringComparer.Ordinal);
        differences.AddRange(actual.Where(t => !expectedNames.Contains(t.TableName)).Select(t => $"{t.TableName}: not in the backup"));
        return differences;
    }
}
