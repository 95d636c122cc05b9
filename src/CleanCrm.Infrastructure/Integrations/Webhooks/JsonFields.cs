using System.Globalization;
using System.Text.Json;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>Lenient reads of provider JSON: a missing or mistyped field is null, never an exception.</summary>
internal static class JsonFields
{
    public static IEnumerable<JsonElement> Items(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray()
            : [];

    public static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    public static DateTimeOffset? Time(JsonElement element, string name) =>
        Text(element, name) is { } text
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at.ToUniversalTime()
            : null;

    public static string? Clip(string? value, int length) => value is null || value.Length <= length ? value : value[..length];
}
