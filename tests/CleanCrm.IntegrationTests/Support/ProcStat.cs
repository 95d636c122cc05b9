using System.Globalization;

namespace CleanCrm.IntegrationTests.Support;

/// <summary>
/// Fields of <c>/proc/&lt;pid&gt;/stat</c>, counted from the state field (0) after the command name, which may contain spaces.
/// </summary>
public static class ProcStat
{
    public const int ParentId = 1;
    public const int SessionId = 3;
    public const int Nice = 16;

    /// <summary>The field, or -1 when the process is gone.</summary>
    public static int Field(int processId, int index)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{processId}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[index], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
