using CleanCrm.Domain.Common;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Common.Paging;

/// <summary>The paging, sorting and search parameters every CRM list shares (docs/API.md, "Lists").</summary>
public interface IListQuery
{
    int? Limit { get; }

    string? Cursor { get; }

    string? Sort { get; }

    string? Q { get; }
}

/// <summary>A resource's sortable fields and its default sort, declared once and used by validator and handler alike.</summary>
public sealed class SortKeys<T>(string fallback, params SortKey<T>[] keys)
    where T : TenantEntity
{
    private readonly Dictionary<string, SortKey<T>> _keys = keys.ToDictionary(k => k.Field, StringComparer.Ordinal);

    public string Fallback { get; } = fallback;

    public IEnumerable<string> Fields => _keys.Keys;

    public bool TryParse(string? sort, out SortOrder order) => SortOrder.TryParse(sort, _keys.Keys, Fallback, out order);

    public SortKey<T> this[string field] => _keys[field];

    /// <summary>A cursor made by this list with the same sort, whose sort value still parses (a forged one is a 400, not a 500).</summary>
    public bool IsValidCursor(string? sort, string? cursor)
    {
        if (!TryParse(sort, out var order))
        {
            return true;
        }

        if (!Paging.Cursor.TryDecode(cursor, order.Text, out var decoded))
        {
            return false;
        }

        try
        {
            _ = decoded is null ? null : _keys[order.Field].Parse(decoded.Value);
            return true;
        }
        catch (Exception exception) when (exception is FormatException or OverflowException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Seeks past the cursor, orders by (key, id) and reads one page plus one row to know whether more follow.</summary>
    public async Task<Page<TOut>> PageAsync<TOut>(IQueryable<T> source, IListQuery query, Func<T, TOut> map,
        CancellationToken cancellationToken)
    {
        TryParse(query.Sort, out var order);
        Paging.Cursor.TryDecode(query.Cursor, order.Text, out var after);
        var limit = query.Limit ?? Paging.Cursor.DefaultLimit;
        var key = _keys[order.Field];
        var rows = await Keyset.Seek(source.AsNoTracking(), key, order.Descending, after, e => e.Id)
            .Take(limit + 1)
            .ToListAsync(cancellationToken);
        return Keyset.ToPage(rows, limit, key, order.Text, e => e.Id, map);
    }
}

/// <summary>Rules for <see cref="IListQuery"/>: limit range, known sort, a cursor made by the same sort, bounded search text.</summary>
public abstract class ListQueryValidator<TQuery, T> : AbstractValidator<TQuery>
    where TQuery : IListQuery
    where T : TenantEntity
{
    protected ListQueryValidator(SortKeys<T> keys)
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, Paging.Cursor.MaxLimit).WithMessage($"must be between 1 and {Paging.Cursor.MaxLimit}.");
        RuleFor(x => x.Sort)
            .Must(sort => keys.TryParse(sort, out _))
            .WithMessage($"must be one of {string.Join(", ", keys.Fields)} (prefix '-' for descending).");
        RuleFor(x => x.Cursor)
            .Must((query, cursor) => keys.IsValidCursor(query.Sort, cursor))
            .WithMessage("is not a cursor returned by this list with the same sort.");
        RuleFor(x => x.Q).MaximumLength(200).WithMessage("must be at most 200 characters.");
    }
}
