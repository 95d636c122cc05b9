using System.Diagnostics;
using System.Net;
using CleanCrm.Infrastructure.Provisioning;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CleanCrm.Infrastructure.Backups;

/// <summary>
/// Lowers the CPU priority of the PostgreSQL server processes that work for a backup (the one computing the fingerprints
/// and the one streaming pg_dump's COPY), when the database server runs on this host and the operating system lets this
/// process do it (same user, or root). pg_dump itself already runs at low priority; on a shared machine its server-side
/// twin was the part of a backup that still competed with the API's queries at full priority. Elsewhere (a database
/// server on another host, no permission) nothing changes. Backup sessions only read, in a read-only snapshot: the
/// locks they hold block DDL only, so a low-priority holder cannot stall the API's reads and writes.
/// </summary>
internal static partial class BackendPriority
{
    private static int _refusalLogged;

    public static bool IsLocal(string? host) =>
        host is not null && (host.StartsWith('/') || host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
                             || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address)));

    public static void TryLower(int processId, ILogger logger)
    {
        string? refused;
        try
        {
            using var process = Process.GetProcessById(processId);
            refused = ProcessPriority.TryLowest(process);
        }
        catch (ArgumentException exception)
        {
            refused = exception.Message; // the session ended before it could be lowered
        }

        if (refused is not null && Interlocked.Exchange(ref _refusalLogged, 1) == 0)
        {
            LogNotLowered(logger, processId, refused);
        }
    }

    /// <summary>Finds the session pg_dump opened (by its application name) while the dump runs and lowers its server process.</summary>
    /// <remarks>
    /// Looks on a connection of its own: an error on the backup's connection would end the transaction whose snapshot
    /// pg_dump imports.
    /// </remarks>
    public static async Task LowerDumpSessionAsync(string connectionString, string applicationName, Task dump, ILogger logger,
        CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString)
            {
                Pooling = false,
                ApplicationName = "cleancrm-backup-watch"
            }.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var find = new NpgsqlCommand(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND backend_type = 'client backend'", connection);
            find.Parameters.Add(new NpgsqlParameter { Value = applicationName });
            for (var attempt = 0; attempt < 500 && !dump.IsCompleted; attempt++)
            {
                if (await find.ExecuteScalarAsync(cancellationToken) is int processId)
                {
                    TryLower(processId, logger);
                    return;
                }

                await Task.WhenAny(dump, Task.Delay(10, cancellationToken));
            }
        }
        catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException)
        {
            // Only an optimization: the dump goes on at normal priority.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Backups run their database sessions at normal priority: could not lower the " +
        "priority of server process {ProcessId} ({Reason})")]
    private static partial void LogNotLowered(ILogger logger, int processId, string reason);
}
