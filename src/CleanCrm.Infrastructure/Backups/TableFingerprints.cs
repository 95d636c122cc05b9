using System.Globalization;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Tenancy;
using Npgsql;

namespace CleanCrm.Infrastructure.Backups;

/// <summary>
/// Row count and content hash of every table of a tenant database (<see cref="FingerprintAlgorithm"/>). Taken at
/// backup time in the dump's own snapshot and again after a restore, with the algorithm the backup recorded; equal
/// fingerprints mean the same rows.
/// </summary>
public static class TableFingerprints
{
    private const string Modulus = "18446744073709551616";

    /// <summary>Fixes how values print, so a row's text does not depend on the server's or session's defaults.</summary>
    public const string StableOutputSettings =
        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output " +
            "= 'hex'";

    /// <summary>What new backups use.</summary>
    public const FingerprintAlgorithm Current = FingerprintAlgorithm.Sum128;

    public static async Task<List<BackupTable>> ComputeAsync(NpgsqlConnection connection, FingerprintAlgorithm algorithm,
        CancellationToken cancellationToken)
    {
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
                         "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND " +
                             "c.relkind IN ('r', 'p') ORDER BY c.relname::text COLLATE \"C\"",
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
            var quoted = $"public.{TenantDatabaseProvisioner.Quote(table)}";
            await using var command = new NpgsqlCommand(
                algorithm switch
                {
                    FingerprintAlgorithm.Md5 =>
                        $"SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h COLLATE \"C\"), '')) FROM (SELECT md5(t::text) AS h " +
                            $"FROM {quoted} t) s",
                    // Sums are numeric (no overflow); reduced mod 2^64 into [0, 2^64) they print as 16 hex digits each.
                    FingerprintAlgorithm.Sum128 =>
                        $"SELECT count(*), mod(mod(coalesce(sum(hashtextextended(x, 0)), 0), {Modulus}) + {Modulus}, {Modulus}), " +
                        $"mod(mod(coalesce(sum(hashtextextended(x, 1)), 0), {Modulus}) + {Modulus}, {Modulus}) FROM (SELECT t::text AS x " +
                            $"FROM {quoted} t) s",
                    _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown fingerprint algorithm."),
                },
                connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var hash = algorithm == FingerprintAlgorithm.Md5
                ? reader.GetString(1)
                : string.Create(CultureInfo.InvariantCulture, $"{(ulong)reader.GetDecimal(1):x16}{(ulong)reader.GetDecimal(2):x16}");
            result.Add(new BackupTable { TableName = table, RowCount = reader.GetInt64(0), ContentHash = hash });
        }

        return result;
    }

    /// <summary>The last applied tenant migration, read in the caller's snapshot.</summary>
    public static async Task<string?> SchemaVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT max(coalesce(to_jsonb(h) ->> 'migration_id', to_jsonb(h) ->> 'MigrationId')) FROM " +
                $"public.{TenantDatabaseProvisioner.Quote(TenantMigrations.HistoryTable)} h",
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
