using System.Buffers.Text;

using System.Text.Json;

namespace CleanCrm.Application.Common.Paging;

/// <summary>One page of a keyset-paginated list (docs/API.md, "Lists").</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>The position after the last item of a page: its sort value and id (the tie-breaker).</summary>
public sealed record Cursor(string Sort, string? Value, Guid Id)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public string Encode() => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new Payload(Sort, Value, Id)));

    /// <summary>Decodes a cursor made for the same sort; anything else is refused as invalid input.</summary>
    public static bool TryDecode(string? text, string sort, out Cursor? cursor)
    {
        cursor = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        try
        {
            var payload = JsonSerializer.Deserialize<Payload>(Base64Url.DecodeFromChars(text));
            if (payload is null || payload.S != sort || payload.I == Guid.Empty)
            {
                return false;
            }

            cursor = new Cursor(payload.S, payload.V, payload.I);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException)
        {
            return false;
        }
    }

    private sealed record Payload(string S, string? V, Guid I);
}

/// <summary>A list request's sort: a field name with an optional leading '-' for descending.</summary>
public sealed record SortOrder(string Field, bool Descending)
{
    public string Text => Descending ? "-" + Field : Field;

    public static bool TryParse(string? text, IEnumerable<string> allowed, string fallback, out SortOrder order)
    {
        var raw = string.IsNullOrWhiteSpace(text) ? fallback : text.Trim();
        var descending = raw.StartsWith('-');
        var field = descending ? raw[1..] : raw;
        order = new SortOrder(field, descending);
        return allowed.Contains(field);
    }
}

