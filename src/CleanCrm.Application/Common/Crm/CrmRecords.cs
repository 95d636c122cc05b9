using System.Text.Json;
using CleanCrm.Application.Common.Behaviors;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Common;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Common.Crm;

/// <summary>
/// The steps every CRM write shares (find with If-Match, merge patch, save), so one failure reads the same on every
/// resource: 404 not found, 412 stale, 409 duplicate, 400 bad reference. The HTTP contract is in docs/API.md.
/// </summary>
public static class CrmRecords
{
    /// <summary>A live record, or 404; 412 when the client's If-Match names another version.</summary>
    public static async Task<Result<TEntity>> FindAsync<TEntity>(
        IQueryable<TEntity> source, string resource, Guid id, uint? ifMatch, CancellationToken cancellationToken)
        where TEntity : TenantEntity
    {
        var entity = await source.FirstOrDefaultAsync(e => e.Id == id && e.DeletedAt == null, cancellationToken);
        if (entity is null)
        {
            return Error.NotFound(resource, id);
        }

        return ifMatch is { } expected && expected != entity.Version ? Stale(resource, id) : entity;
    }

    /// <summary>Like <see cref="FindAsync"/>, and the save that follows fails as stale if the row changes meanwhile.</summary>
    public static async Task<Result<TEntity>> FindToWriteAsync<TEntity>(
        ITenantDbContext db, IQueryable<TEntity> source, string resource, Guid id, uint? ifMatch, CancellationToken cancellationToken)
        where TEntity : TenantEntity
    {
        var found = await FindAsync(source, resource, id, ifMatch, cancellationToken);
        if (found.IsSuccess)
        {
            db.ExpectVersion(found.Value, ifMatch ?? found.Value.Version);
        }

        return found;
    }

    /// <summary>Applies a JSON merge patch to the stored write model and validates the result.</summary>
    public static async Task<Result<TFields>> MergeAsync<TFields>(
        TFields current, JsonElement patch, IValidator<TFields> validator, CancellationToken cancellationToken)
        where TFields : class
    {
        var merged = JsonMergePatch.Apply(current, patch);
        if (!merged.IsSuccess)
        {
            return merged.Error!;
        }

        var validation = await validator.ValidateAsync(merged.Value, cancellationToken);
        return validation.IsValid ? merged : ValidationErrors.From(validation.Errors);
    }

    /// <summary>Saves, turning the database refusals a client can cause into 4xx; null when the save succeeded.</summary>
    public static async Task<Error?> SaveAsync(
        ITenantDbContext db,
        string resource,
        Guid id,
        Func<ConstraintViolationException, Error?>? constraint,
        CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return null;
        }
        catch (ConstraintViolationException exception) when (constraint?.Invoke(exception) is { } error)
        {
            return error;
        }
        catch (Exception exception) when (FromSaveFailure(exception, resource, id) is { } error)
        {
            return error;
        }
    }

    /// <summary>A 409 for a value another live record already holds, naming the field.</summary>
    public static Error Duplicate(string field, string detail, string fieldMessage) =>
        new(ErrorType.Conflict, ErrorCodes.DuplicateValue, detail)
        {
            Errors = new Dictionary<string, string[]> { [field] = [fieldMessage] },
        };

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
}
