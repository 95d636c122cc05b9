using System.Globalization;

namespace CleanCrm.Provisioning.Worker;

/// <summary>
/// <c>CleanCrm:Worker:LowCpuPriority</c>: gives the worker (and the pg_dump processes it starts) the lowest CPU share
/// next to other services on the same Linux host, so its background work (backups, fleet migrations, imports) yields
/// to the API. Linux shares CPU first between sessions ("autogroups") and only then by nice value inside each, so a
/// nice value alone does not lower a service against another one; the autogroup's own nice value does. It applies when
/// the worker leads its own session (as a systemd service or a process started with <c>setsid</c> does); otherwise the
/// autogroup belongs to whoever started it and is left alone. Where the service manager sets CPU weights (systemd
/// <c>CPUWeight=</c>, container CPU shares), those are the better control.
/// </summary>
public static class WorkerCpuPriority
{
    public const string Setting = "CleanCrm:Worker:LowCpuPriority";

    /// <summary>Lowers the autogroup of <paramref name="processId"/> to nice 19 when it may; says what it did.</summary>
    public static string Lower(int processId)
    {
        var autogroup = $"/proc/{processId}/autogroup";
        if (!File.Exists(autogroup))
        {
            return "left at normal priority: this system has no autogroup scheduling (use the service manager's CPU weight)";
        }

        if (SessionId(processId) != processId)
        {
            return "left at normal priority: the worker does not lead its own session, so its autogroup is shared with the process that " +
                "started it";
        }

        try
        {
            File.WriteAllText(autogroup, "19");
            return $"lowered: {File.ReadAllText(autogroup).Trim()}";
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return $"left at normal priority: {exception.Message}";
        }
    }

    // Field 6 of /proc/<pid>/stat (the session id), counted after the command name, which may contain spaces.
    private static int SessionId(int processId)
    {
        var stat = File.ReadAllText($"/proc/{processId}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[3], CultureInfo.InvariantCulture);
    }
}
