using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Common;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Common.Crm;

/// <summary>Where a resource's rows live and what problem details call it ("Company '…' was not found.").</summary>
public class CrmTable<TEntity>
    where TEntity : TenantEntity
{
    public required string Resource { get; init; }

    public required Func<ITenantDbContext, DbSet<TEntity>> Rows { get; init; }

    /// <summary>What a read or a patch loads when the DTO shows child rows; the rows alone when null.</summary>
    public Func<ITenantDbContext, IQueryable<TEntity>>? WithDetails { get; init; }

    public IQueryable<TEntity> Load(ITenantDbContext db) => WithDetails?.Invoke(db) ?? Rows(db);

    /// <summary>The 404 for an id no live record has, for requests about a record's children; null when it exists.</summary>
    public async Task<Error?> NotFoundUnlessLiveAsync(ITenantDbContext db, Guid id, CancellationToken cancellationToken) =>
        await Rows(db).AnyAsync(e => e.Id == id && e.DeletedAt == null, cancellationToken) ? null : Error.NotFound(Resource, id);
}

/// <summary>
/// One CRM resource as the shared record handlers see it: how its write model is read from, checked against and
/// applied to its entity, and how the entity is returned. A resource declares this once; its create, get, update and
/// delete handlers derive from the generic ones (<see cref="CreateRecordHandler{TRequest, TEntity, TFields, TDto}"/> and
/// its siblings) in one line.
/// </summary>
public sealed class CrmRecordType<TEntity, TFields, TDto> : CrmTable<TEntity>
    where TEntity : TenantEntity
    where TFields : class
{
    /// <summary>A new entity with its required members; <see cref="Apply"/> sets the rest.</summary>
    public required Func<TFields, TEntity> New { get; init; }

    /// <summary>The write model of a stored entity: the document a merge patch is applied to.</summary>
    public required Func<TEntity, TFields> Read { get; init; }

    public required IValidator<TFields> Validator { get; init; }

    /// <summary>Checks what changed against the stored entity (null on create): references, and unique values early.</summary>
    public required Func<ITenantDbContext, TFields, TEntity?, CancellationToken, Task<Error?>> Check { get; init; }

    public required Action<TFields, TEntity, WriteStamp> Apply { get; init; }

    public required Func<TEntity, TDto> ToDto { get; init; }

    /// <summary>The resource's live-unique index, if any, and the 409 that names the field when a save breaks it.</summary>
    public UniqueRule<TFields>? Unique { get; init; }

    /// <summary>The 409 for a violation of <see cref="Unique"/>; null leaves any other violation to the generic mapping.</summary>
    public Error? FromUniqueViolation(ConstraintViolationException exception, TFields fields) =>
        Unique is { } rule && exception.Kind == ConstraintKind.Unique && exception.ConstraintName == rule.Index
            ? rule.Duplicate(fields)
            : null;
}

/// <summary>A unique index over live records and the 409 answered when a write collides with it.</summary>
public sealed record UniqueRule<TFields>(string Index, Func<TFields, Error> Duplicate);

/// <summary>When and by whom a write happens, for the record and the child rows written along with it.</summary>
public readonly record struct WriteStamp(DateTimeOffset Now, Guid? Actor)
{
    public T Stamp<T>(T entity)
        where T : TenantEntity
    {
        entity.CreatedAt = Now;
        entity.UpdatedAt = Now;
        entity.CreatedBy = Actor;
        entity.UpdatedBy = Actor;
        return entity;
    }

    public void Touch(TenantEntity entity)
    {
        entity.UpdatedAt = Now;
        entity.UpdatedBy = Actor;
    }
}
