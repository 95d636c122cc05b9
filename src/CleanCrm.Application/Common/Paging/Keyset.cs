using System.Globalization;
using System.Linq.Expressions;

namespace CleanCrm.Application.Common.Paging;

/// <summary>A sortable field of a resource: how to read it in SQL and how to write/read it in a cursor.</summary>
public sealed class SortKey<T>
{
    private SortKey(string field, LambdaExpression key, Type keyType, Func<T, string?> format, Func<string?, object?> parse)
    {
        Field = field;
        Key = key;
        KeyType = keyType;
        Format = format;
        Parse = parse;
    }

    public string Field { get; }

    public LambdaExpression Key { get; }

    public Type KeyType { get; }

    public Func<T, string?> Format { get; }

    public Func<string?, object?> Parse { get; }

    public static SortKey<T> Text(string field, Expression<Func<T, string>> key)
    {
        var compiled = key.Compile();
        return new SortKey<T>(field, key, typeof(string), item => compiled(item), value => value ?? string.Empty);
    }

    public static SortKey<T> Number(string field, Expression<Func<T, long>> key)
    {
        var compiled = key.Compile();
        return new SortKey<T>(
            field,
            key,
            typeof(long),
            item => compiled(item).ToString(CultureInfo.InvariantCulture),
            value => long.Parse(value!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
    }

    public static SortKey<T> Time(string field, Expression<Func<T, DateTimeOffset>> key)
    {
        var compiled = key.Compile();
        return new SortKey<T>(
            field,
            key,
            typeof(DateTimeOffset),
            item => compiled(item).ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
            value => DateTimeOffset.Parse(value!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).ToUniversalTime());
    }
}

/// <summary>Keyset (seek) pagination: stable order by (key, id), no OFFSET, cursors that survive inserts.</summary>
public static class Keyset
{
    public static IQueryable<T> Seek<T>(IQueryable<T> source, SortKey<T> key, bool descending, Cursor? after, Expression<Func<T, Guid>> id)
    {
        var parameter = id.Parameters[0];
        var keyBody = new ParameterReplacer(key.Key.Parameters[0], parameter).Visit(key.Key.Body);
        var idBody = id.Body;

        if (after is not null)
        {
            var lastKey = Parameter(key.Parse(after.Value), key.KeyType);
            var lastId = Parameter(after.Id, typeof(Guid));
            var keyBeyond = Beyond(keyBody, lastKey, descending);
            var keyEqual = Expression.Equal(keyBody, lastKey);
            var idBeyond = descending ? Expression.LessThan(idBody, lastId) : Expression.GreaterThan(idBody, lastId);
            var predicate = Expression.OrElse(keyBeyond, Expression.AndAlso(keyEqual, idBeyond));
            source = source.Where(Expression.Lambda<Func<T, bool>>(predicate, parameter));
        }

        var ordered = OrderBy(source, Expression.Lambda(keyBody, parameter), key.KeyType, descending, first: true);
        return OrderBy(ordered, id, typeof(Guid), descending, first: false);
    }

    public static Page<TOut> ToPage<T, TOut>(List<T> rows, int limit, SortKey<T> key, string sortText, Func<T, Guid> id, Func<T, TOut> map)
    {
        var hasMore = rows.Count > limit;
        if (hasMore)
        {
            rows.RemoveAt(rows.Count - 1);
        }

        var next = hasMore ? new Cursor(sortText, key.Format(rows[^1]), id(rows[^1])).Encode() : null;
        return new Page<TOut>([.. rows.Select(map)], next);
    }

    private static Expression Beyond(Expression key, Expression last, bool descending)
    {
        if (key.Type == typeof(string))
        {
            var compare = Expression.Call(typeof(string).GetMethod(nameof(string.Compare), [typeof(string), typeof(string)])!, key, last);
            var zero = Expression.Constant(0);
            return descending ? Expression.LessThan(compare, zero) : Expression.GreaterThan(compare, zero);
        }

        return descending ? Expression.LessThan(key, last) : Expression.GreaterThan(key, last);
    }

    private static IOrderedQueryable<T> OrderBy<T>(IQueryable<T> source, LambdaExpression key, Type keyType, bool descending, bool first)
    {
        var method = (first, descending) switch
        {
            (true, false) => nameof(Queryable.OrderBy),
            (true, true) => nameof(Queryable.OrderByDescending),
            (false, false) => nameof(Queryable.ThenBy),
            (false, true) => nameof(Queryable.ThenByDescending),
        };
        var call = Expression.Call(typeof(Queryable), method, [typeof(T), keyType], source.Expression, Expression.Quote(key));
        return (IOrderedQueryable<T>)source.Provider.CreateQuery<T>(call);
    }

    // A member access on a closure object, so EF sends a SQL parameter instead of inlining a constant.
    private static MemberExpression Parameter(object? value, Type type)
    {
        var holderType = typeof(ValueHolder<>).MakeGenericType(type);
        var holder = Activator.CreateInstance(holderType, value)!;
        return Expression.Property(Expression.Constant(holder), nameof(ValueHolder<object>.Value));
    }

    private sealed class ValueHolder<TValue>(TValue value)
    {
        public TValue Value { get; } = value;
    }

    private sealed class ParameterReplacer(ParameterExpression from, ParameterExpression to) : ExpressionVisitor
    {
        protected override Expression VisitParameter(ParameterExpression node) => node == from ? to : base.VisitParameter(node);
    }
}
