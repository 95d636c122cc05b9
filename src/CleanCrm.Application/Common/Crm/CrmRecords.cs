using System.Text.Json;
using CleanCrm.Application.Common.Behaviors;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Common;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Common.Crm;

/// <summary>How one resource's write model is read from, checked against and applied to its entity.</summary>
public sealed record RecordWrites<TEntity, TFields>(
    string Resource,
    Func<TEntity, TFields> Read,
    IValidator<TFields> Validator,
    Func<TFields, TEntity?, CancellationToken, Task<Error?>> CheckReferences,
    Action<TFields, TEntity, WriteStamp> Apply)
    where TEntity : TenantEntity
{
    /// <summary>Turns a known unique-index violation into a 409 naming the field; null leaves it to the generic mapping.</summary>
    public Func<ConstraintViolationException, TFields, Error?>? Constraint { get; init; }
}

/// <summary>When and by whom a write happens, for child rows created along with their parent.</summary>
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
}

/// <summary>
/// The create / merge-patch / soft-delete steps every CRM resource shares (SPEC §6.3), written once so each resource
/// only declares its fields, rules and references.
/// </summary>
public static class CrmRecords
{
    public static async ValueTask<Result<TEntity>> CreateAsync<TEntity, TFields>(
        ITenantDbContext db, DbSet<TEntity> set, TFields fields, TEntity entity, RecordWrites<TEntity, TFields> writes, ICallerContext caller, TimeProvider clock, CancellationToken cancellationToken)
        where TEntity : TenantEntity
    {
        if (await writes.CheckReferences(fields, null, cancellationToken) is { } referenceError)
        {
            return referenceError;
        }

        var now = clock.GetUtcNow();
        entity.CreatedAt = now;
        entity.UpdatedAt = now;
        entity.CreatedBy = caller.UserId;
        entity.UpdatedBy = caller.UserId;
        writes.Apply(fields, entity, new WriteStamp(now, caller.UserId));
        set.Add(entity);
        return await SaveAsync(db, entity, fields, writes, cancellationToken);
    }

    public static async ValueTask<Result<TEntity>> PatchAsync<TEntity, TFields>(
        ITenantDbContext db, IQueryable<TEntity> source, Guid id, JsonElement patch, uint? ifMatch, RecordWrites<TEntity, TFields> writes, ICallerContext caller, TimeProvider clock, CancellationToken cancellationToken)
        where TEntity : TenantEntity
        where TFields : class
    {
        var entity = await source.FirstOrDefaultAsync(e => e.Id == id && e.DeletedAt == null, cancellationToken);
        if (entity is null)
        {
            return Error.NotFound(writes.Resource, id);
        }

        if (ifMatch is { } expected && expected != entity.Version)
        {
            return Stale(writes.Resource, id);
        }

        var merged = JsonMergePatch.Apply(writes.Read(entity), patch);
        if (!merged.IsSuccess)
        {
            return merged.Error!;
        }

        var fields = merged.Value;
        var validation = await writes.Validator.ValidateAsync(fields, cancellationToken);
        if (!validation.IsValid)
        {
            return ValidationErrors.From(validation.Errors);
        }

        if (await writes.CheckReferences(fields, entity, cancellationToken) is { } referenceError)
        {
            return referenceError;
        }

        db.ExpectVersion(entity, ifMatch ?? entity.Version);
        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        writes.Apply(fields, entity, stamp);
        entity.UpdatedAt = stamp.Now;
        entity.UpdatedBy = stamp.Actor;
        return await SaveAsync(db, entity, fields, writes, cancellationToken);
    }

    public static async ValueTask<Result<Unit>> SoftDeleteAsync<TEntity>(
        ITenantDbContext db, IQueryable<TEntity> source, Guid id, uint? ifMatch, string resource, ICallerContext caller, TimeProvider clock, CancellationToken cancellationToken)
        where TEntity : TenantEntity
    {
        var entity = await source.FirstOrDefaultAsync(e => e.Id == id && e.DeletedAt == null, cancellationToken);
        if (entity is null)
        {
            return Error.NotFound(resource, id);
        }

        if (ifMatch is { } expected && expected != entity.Version)
        {
            return Stale(resource, id);
        }

        db.ExpectVersion(entity, ifMatch ?? entity.Version);
        var now = clock.GetUtcNow();
        entity.DeletedAt = now;
        entity.UpdatedAt = now;
        entity.UpdatedBy = caller.UserId;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (ConcurrencyConflictException)
        {
            return Stale(resource, id);
        }

        return Unit.Value;
    }

    public static Error Stale(string resource, Guid id) =>
        Error.PreconditionFailed($"{resource} '{id}' was changed by someone else since you read it; fetch it again and retry.");

    /// <summary>Database refusals a client can cause, as 4xx: a stale version, a vanished reference, a broken rule.</summary>
    public static Error? FromSaveFailure(Exception exception, string resource, Guid id) => exception switch
    {
        ConcurrencyConflictException => Stale(resource, id),
        ConstraintViolationException { Kind: ConstraintKind.ForeignKey } fk => CrmReferences.FromForeignKey(fk.ConstraintName),
        ConstraintViolationException { Kind: ConstraintKind.Unique } unique =>
            Error.Conflict(ErrorCodes.DuplicateValue, $"{resource} conflicts with an existing record ({unique.ConstraintName})."),
        ConstraintViolationException { Kind: ConstraintKind.Check } check =>
            Error.Validation("body", $"The values break the rule {check.ConstraintName}."),
        _ => null,
    };

    private static async ValueTask<Result<TEntity>> SaveAsync<TEntity, TFields>(
        ITenantDbContext db, TEntity entity, TFields fields, RecordWrites<TEntity, TFields> writes, CancellationToken cancellationToken)
        where TEntity : TenantEntity
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (ConstraintViolationException exception) when (writes.Constraint?.Invoke(exception, fields) is { } error)
        {
            return error;
        }
        catch (Exception exception) when (FromSaveFailure(exception, writes.Resource, entity.Id) is { } error)
        {
            return error;
        }

        return entity;
    }
}
