using System.Text.Json;

namespace CleanCrm.Application.Common.Json;

/// <summary>An enum as the API writes it (snake_case, e.g. <c>in_progress</c>), for query-string filters.</summary>
public static class ApiEnum<TEnum>
    where TEnum : struct, Enum
{
    private static readonly Dictionary<string, TEnum> ByName = Enum.GetValues<TEnum>()
        .ToDictionary(v => JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()), v => v, StringComparer.Ordinal);

    public static string Names => string.Join(", ", ByName.Keys);

    public static bool IsValid(string? text) => text is null || ByName.ContainsKey(text);

    public static TEnum? Parse(string? text) => text is not null && ByName.TryGetValue(text, out var value) ? value : null;
}
