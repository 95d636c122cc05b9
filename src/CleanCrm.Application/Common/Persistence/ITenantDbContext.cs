using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Common.Persistence;

/// <summary>The organization's own database, reached through its own PostgreSQL role. Handlers use it directly.</summary>
public interface ITenantDbContext
{
    DbSet<Member> Members { get; }

    DbSet<Company> Companies { get; }

    DbSet<Contact> Contacts { get; }

    DbSet<Pipeline> Pipelines { get; }

    DbSet<Import> Imports { get; }

    /// <summary>Live companies whose full-text document matches a web-style query (<c>acme -inc "big deal"</c>).</summary>
    IQueryable<Company> CompaniesMatching(string query);

    /// <summary>Live contacts whose full-text document matches a web-style query.</summary>
    IQueryable<Contact> ContactsMatching(string query);

    /// <summary>Saves; unique and foreign-key violations surface as <see cref="ConstraintViolationException"/>.</summary>
    Task<int> SaveChangesAsync(CancellationToken cancellationToken = default);

    /// <summary>Tells the change tracker which version the caller saw, so a concurrent update makes the save fail.</summary>
    void ExpectVersion<TEntity>(TEntity entity, uint version)
        where TEntity : class;
}

public enum ConstraintKind
{
    Unique,
    ForeignKey,
    Check,
}

/// <summary>A database constraint refused a write; the handler turns it into a 409/400 instead of a 500.</summary>
public sealed class ConstraintViolationException(ConstraintKind kind, string constraintName, Exception inner)
    : Exception($"{kind} constraint '{constraintName}' was violated.", inner)
{
    public ConstraintKind Kind { get; } = kind;

    public string ConstraintName { get; } = constraintName;
}

/// <summary>Another writer changed the row since the caller read it.</summary>
public sealed class ConcurrencyConflictException(Exception inner) : Exception("The record was changed by someone else.", inner);
