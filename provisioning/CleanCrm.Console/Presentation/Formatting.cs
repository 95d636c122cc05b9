using System.Globalization;

namespace CleanCrm.Console.Presentation;

/// <summary>How the console shows sizes and times (UTC, to the minute, the same on every screen).</summary>
public static class Formatting
{
    public static string Bytes(long? bytes)
    {
        if (bytes is not { } value)
        {
            return "–";
        }

        string[] units = ["B", "KB", "MB", "GB", "TB"];
        var size = (double)value;
        var unit = 0;
        while (size >= 1024 && unit < units.Length - 1)
        {
            size /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{value} B")
            : string.Create(CultureInfo.InvariantCulture, $"{size:0.#} {units[unit]}");
    }

    public static string Time(DateTimeOffset? at) =>
        at is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) : "–";

    public static string TimeSeconds(DateTimeOffset? at) =>
        at is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "–";

    /// <summary>Enum names as the API spells them (<c>SideBySide</c> → <c>side_by_side</c>).</summary>
    public static string Word<T>(T value)
        where T : struct, Enum =>
        string.Concat(value.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c)
            .ToString()));
}
