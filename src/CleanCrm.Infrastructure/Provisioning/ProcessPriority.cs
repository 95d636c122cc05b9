using System.Diagnostics;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>Puts a process at the lowest CPU priority (nice 19 on Linux) where the operating system allows it.</summary>
internal static class ProcessPriority
{
    /// <summary>Null when lowered; otherwise why not (the process exited, no permission, not supported here).</summary>
    public static string? TryLowest(Process process)
    {
        try
        {
            process.PriorityClass = ProcessPriorityClass.Idle;
            return null;
        }
        catch (Exception exception) when (exception is InvalidOperationException or System.ComponentModel.Win32Exception
                                              or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            return exception.Message;
        }
    }
}
