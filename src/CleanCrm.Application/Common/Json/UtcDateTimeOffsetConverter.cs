using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CleanCrm.Application.Common.Json;

/// <summary>Writes every timestamp as ISO 8601 UTC with a trailing Z (docs/API.md, "Conventions"); reads any ISO 8601 offset.</summary>
public sealed class UtcDateTimeOffsetConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TryGetDateTimeOffset(out var value)
            ? value.ToUniversalTime()
            : throw new JsonException("Timestamps must be ISO 8601, e.g. 2026-11-25T17:00:00Z.");

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
}
