using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>Where the PostgreSQL client programs live (section <c>CleanCrm:PostgresTools</c>).</summary>
public sealed class PostgresToolsOptions
{
    public const string SectionName = "CleanCrm:PostgresTools";

    /// <summary>Folder of pg_dump/pg_restore; empty = the newest /usr/lib/postgresql/*/bin, then PATH.</summary>
    public string? BinDirectory { get; set; }
}

/// <summary>Locates pg_dump and pg_restore; a client at least as new as the server is required, so the newest wins.</summary>
public sealed class PostgresTools(IOptions<PostgresToolsOptions> options)
{
    public string PgDump => Find("pg_dump");

    public string PgRestore => Find("pg_restore");

    private string Find(string program)
    {
        if (options.Value.BinDirectory is { Length: > 0 } configured)
        {
            return Path.Combine(configured, program);
        }

        const string root = "/usr/lib/postgresql";
        if (Directory.Exists(root))
        {
            var newest = Directory.GetDirectories(root)
                .Select(dir => (Dir: dir, Version: int.TryParse(Path.GetFileName(dir), out var v) ? v : 0))
                .OrderByDescending(d => d.Version)
                .Select(d => Path.Combine(d.Dir, "bin", program))
                .FirstOrDefault(File.Exists);
            if (newest is not null)
            {
                return newest;
            }
        }

        return program;
    }

    /// <summary>Streams pg_dump's custom-format output straight into pg_restore (nothing buffered on disk or in memory).</summary>
    public async Task DumpIntoAsync(ToolConnection source, ToolConnection target, CancellationToken cancellationToken)
    {
        using var dump = Start(PgDump, source, ["--format=custom", "--no-owner", "--no-acl", "--dbname", source.Database]);
        using var restore = Start(PgRestore, target,
            ["--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--dbname", target.Database], redirectInput: true);
        var dumpErrors = dump.StandardError.ReadToEndAsync(cancellationToken);
        var restoreErrors = restore.StandardError.ReadToEndAsync(cancellationToken);
        await dump.StandardOutput.BaseStream.CopyToAsync(restore.StandardInput.BaseStream, cancellationToken);
        restore.StandardInput.Close();
        await Task.WhenAll(dump.WaitForExitAsync(cancellationToken), restore.WaitForExitAsync(cancellationToken));
        if (dump.ExitCode != 0 || restore.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"Copying {source.Database} failed: pg_dump exited {dump.ExitCode} ({(await dumpErrors).Trim()}), pg_restore exited " +
                    $"{restore.ExitCode} ({(await restoreErrors).Trim()}).");
        }
    }

    /// <summary>
    /// Runs <c>pg_dump -Fc</c> of <paramref name="source"/> (inside an exported snapshot when given) and hands its output
    /// stream to <paramref name="consume"/>; throws when pg_dump fails, after the consumer has seen what it wrote.
    /// </summary>
    public async Task DumpAsync(ToolConnection source, string? snapshot, DumpSettings settings,
        Func<Stream, CancellationToken, Task> consume, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(consume);
        List<string> arguments = ["--format=custom", "--no-owner", "--no-acl", $"--compress={settings.CompressionLevel}"];
        if (snapshot is not null)
        {
            arguments.AddRange(["--snapshot", snapshot]);
        }

        arguments.AddRange(["--dbname", source.Database]);
        using var dump = Start(PgDump, source, [.. arguments], applicationName: settings.ApplicationName);
        if (settings.LowPriority)
        {
            LowerPriority(dump);
        }

        var errors = dump.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await consume(dump.StandardOutput.BaseStream, cancellationToken);
        }
        catch
        {
            Kill(dump);
            throw;
        }

        await dump.WaitForExitAsync(cancellationToken);
        if (dump.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_dump of {source.Database} exited {dump.ExitCode}: {(await errors).Trim()}");
        }
    }

    /// <summary>Feeds a custom-format dump into <c>pg_restore</c> on an existing, empty database, in one transaction.</summary>
    public async Task RestoreAsync(ToolConnection target, Stream dump, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(dump);
        using var restore = Start(PgRestore, target,
            ["--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--dbname", target.Database], redirectInput: true);
        var errors = restore.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await dump.CopyToAsync(restore.StandardInput.BaseStream, cancellationToken);
            restore.StandardInput.Close();
        }
        catch (IOException)
        {
            // pg_restore stopped reading (it failed); its exit code and message say why.
        }
        catch
        {
            Kill(restore);
            throw;
        }

        await restore.WaitForExitAsync(cancellationToken);
        if (restore.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_restore into {target.Database} exited {restore.ExitCode}: {(await errors).Trim()}");
        }
    }

    // Compression runs in pg_dump: at the lowest CPU priority it yields to the API on a busy machine. When that is not
    // possible (already exited, not allowed here) the dump runs at normal priority.
    private static void LowerPriority(Process process) => ProcessPriority.TryLowest(process);

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static Process Start(string program, ToolConnection connection, string[] arguments, bool redirectInput = false,
        string? applicationName = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = !redirectInput,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--host");
        start.ArgumentList.Add(connection.Host);
        start.ArgumentList.Add("--port");
        start.ArgumentList.Add(connection.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        start.ArgumentList.Add("--username");
        start.ArgumentList.Add(connection.Username);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The password travels in the child's environment only, never on its command line.
        start.Environment["PGPASSWORD"] = connection.Password;
        if (applicationName is not null)
        {
            start.Environment["PGAPPNAME"] = applicationName;
        }

        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
    }
}

public sealed record ToolConnection(string Host, int Port, string Username, string Password, string Database);

/// <summary>
/// How pg_dump compresses (0-9, gzip levels), whether it runs below normal CPU priority, and the application name its
/// session shows in <c>pg_stat_activity</c> (so the caller can find the server process that feeds it).
/// </summary>
public sealed record DumpSettings(int CompressionLevel, bool LowPriority, string? ApplicationName = null);
