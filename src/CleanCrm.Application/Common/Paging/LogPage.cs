using System.Globalization;
using CleanCrm.Application.Common.Results;

namespace CleanCrm.Application.Common.Paging;

/// <summary>
/// Newest-first pages of an append-only log numbered by an identity column (workflow runs, webhook deliveries): the
/// cursor holds the last sequence number shown, and the next page starts below it (docs/API.md, "Lists").
/// </summary>
public static class LogPage
{
    public const string Sort = "-sequence";

    /// <summary>Reads the page size and the cursor; a 400 naming the parameter when either is not valid.</summary>
    public static Error? Read(int? requestedLimit, string? cursorText, out int limit, out long? before)
    {
        limit = requestedLimit ?? Cursor.DefaultLimit;
        before = null;
        if (limit is < 1 or > Cursor.MaxLimit)
        {
            return Error.Validation("limit", $"limit must be between 1 and {Cursor.MaxLimit}.");
        }

        if (!Cursor.TryDecode(cursorText, Sort, out var cursor)
            || (cursor is not null && !long.TryParse(cursor.Value, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return Error.Validation("cursor", "cursor is not a cursor of this list; pass back nextCursor unchanged.");
        }

        before = cursor is null ? null : long.Parse(cursor.Value!, CultureInfo.InvariantCulture);
        return null;
    }

    /// <summary>The page of <paramref name="rows"/> (read with one row more than <paramref name="limit"/>) and its next cursor.</summary>
    public static Page<TOut> From<T, TOut>(IReadOnlyList<T> rows, int limit, Func<T, long> sequence, Func<T, Guid> id,
        Func<T, TOut> map)
    {
        var next = rows.Count > limit
            ? new Cursor(Sort, sequence(rows[limit - 1]).ToString(CultureInfo.InvariantCulture), id(rows[limit - 1])).Encode()
            : null;
        return new Page<TOut>([.. rows.Take(limit).Select(map)], next);
    }
}
