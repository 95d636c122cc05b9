using System.Linq.Expressions;
using CleanCrm.Domain.Common;

namespace CleanCrm.Application.Common.Crm;

/// <summary>List filters that read the same on every CRM resource: a filter applies only when the client sent it.</summary>
public static class CrmFilters
{
    public static IQueryable<T> WhereIf<T, TValue>(
        this IQueryable<T> source, TValue? value, Func<TValue, Expression<Func<T, bool>>> predicate)
        where TValue : struct =>
        value is { } given ? source.Where(predicate(given)) : source;

    public static IQueryable<T> WhereIf<T>(this IQueryable<T> source, string? value, Func<string, Expression<Func<T, bool>>> predicate) =>
        value is null ? source : source.Where(predicate(value));

    /// <summary>The <c>q</c> parameter as a case-insensitive substring search; the predicate gets the trimmed, lower-cased text.</summary>
    public static IQueryable<T> Search<T>(this IQueryable<T> source, string? q, Func<string, Expression<Func<T, bool>>> predicate) =>
        string.IsNullOrWhiteSpace(q) ? source : source.Where(predicate(q.Trim().ToLowerInvariant()));

    /// <summary>Records created in [after, before).</summary>
    public static IQueryable<T> CreatedBetween<T>(this IQueryable<T> source, DateTimeOffset? after, DateTimeOffset? before)
        where T : TenantEntity =>
        source.WhereIf(after, from => e => e.CreatedAt >= from).WhereIf(before, until => e => e.CreatedAt < until);
}
