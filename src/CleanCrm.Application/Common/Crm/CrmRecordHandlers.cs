using System.Text.Json;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Common;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Common.Crm;

/// <summary>A create request whose body is a resource's write model.</summary>
public interface ICreateRecord<out TFields>
{
    TFields Fields { get; }
}

/// <summary>A request naming one record by id.</summary>
public interface IRecordRequest
{
    Guid Id { get; }
}

/// <summary>A JSON merge patch of one record; <see cref="IfMatch"/> is the version the client saw (optional).</summary>
public interface IUpdateRecord : IRecordRequest
{
    JsonElement Patch { get; }

    uint? IfMatch { get; }
}

/// <summary>A soft delete of one record; <see cref="IfMatch"/> is the version the client saw (optional).</summary>
public interface IDeleteRecord : IRecordRequest
{
    uint? IfMatch { get; }
}

/// <summary>Checks references, stamps, applies the write model and saves a new record.</summary>
public abstract class CreateRecordHandler<TRequest, TEntity, TFields, TDto>(
    ITenantDbContext db, ICallerContext caller, TimeProvider clock, CrmRecordType<TEntity, TFields, TDto> type)
    : ICommandHandler<TRequest, Result<TDto>>
    where TRequest : ICommand<Result<TDto>>, ICreateRecord<TFields>
    where TEntity : TenantEntity
    where TFields : class
{
    public async ValueTask<Result<TDto>> Handle(TRequest command, CancellationToken cancellationToken)
    {
        var fields = command.Fields;
        if (await type.Check(db, fields, null, cancellationToken) is { } referenceError)
        {
            return referenceError;
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        var entity = stamp.Stamp(type.New(fields));
        type.Apply(fields, entity, stamp);
        type.Rows(db).Add(entity);
        var error = await CrmRecords.SaveAsync(db, type.Resource, entity.Id, e => type.FromUniqueViolation(e, fields), cancellationToken);
        if (error is not null)
        {
            return error;
        }

        await SavedAsync(entity, cancellationToken);
        return type.ToDto(entity);
    }

    /// <summary>Runs once the new record is saved (committed): a resource queues its follow-up work here.</summary>
    protected virtual ValueTask SavedAsync(TEntity entity, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>Reads one live record, untracked.</summary>
public abstract class GetRecordHandler<TRequest, TEntity, TFields, TDto>(ITenantDbContext db, CrmRecordType<TEntity, TFields, TDto> type)
    : IQueryHandler<TRequest, Result<TDto>>
    where TRequest : IQuery<Result<TDto>>, IRecordRequest
    where TEntity : TenantEntity
    where TFields : class
{
    public async ValueTask<Result<TDto>> Handle(TRequest query, CancellationToken cancellationToken)
    {
        var entity = await type.Load(db).AsNoTracking()
            .FirstOrDefaultAsync(e => e.Id == query.Id && e.DeletedAt == null, cancellationToken);
        return entity is null ? Error.NotFound(type.Resource, query.Id) : type.ToDto(entity);
    }
}

/// <summary>Merge-patches one record: If-Match, merge, validate, check what changed, save against the version read.</summary>
public abstract class UpdateRecordHandler<TRequest, TEntity, TFields, TDto>(
    ITenantDbContext db, ICallerContext caller, TimeProvider clock, CrmRecordType<TEntity, TFields, TDto> type)
    : ICommandHandler<TRequest, Result<TDto>>
    where TRequest : ICommand<Result<TDto>>, IUpdateRecord
    where TEntity : TenantEntity
    where TFields : class
{
    public async ValueTask<Result<TDto>> Handle(TRequest command, CancellationToken cancellationToken)
    {
        var found = await CrmRecords.FindToWriteAsync(db, type.Load(db), type.Resource, command.Id, command.IfMatch, cancellationToken);
        if (!found.IsSuccess)
        {
            return found.Error!;
        }

        var entity = found.Value;
        var merged = await CrmRecords.MergeAsync(type.Read(entity), command.Patch, type.Validator, cancellationToken);
        if (!merged.IsSuccess)
        {
            return merged.Error!;
        }

        var fields = merged.Value;
        if (await type.Check(db, fields, entity, cancellationToken) is { } referenceError)
        {
            return referenceError;
        }

        var before = type.Read(entity);
        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        type.Apply(fields, entity, stamp);
        stamp.Touch(entity);
        var error = await CrmRecords.SaveAsync(db, type.Resource, entity.Id, e => type.FromUniqueViolation(e, fields), cancellationToken);
        if (error is not null)
        {
            return error;
        }

        await SavedAsync(entity, before, cancellationToken);
        return type.ToDto(entity);
    }

    /// <summary>Runs once the change is saved (committed), with the write model as it was before: follow-up work goes here.</summary>
    protected virtual ValueTask SavedAsync(TEntity entity, TFields before, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>Soft delete: the row stays for audit and restore and disappears from every read.</summary>
public abstract class DeleteRecordHandler<TRequest, TEntity>(
    ITenantDbContext db, ICallerContext caller, TimeProvider clock, CrmTable<TEntity> table)
    : ICommandHandler<TRequest, Result<Unit>>
    where TRequest : ICommand<Result<Unit>>, IDeleteRecord
    where TEntity : TenantEntity
{
    public async ValueTask<Result<Unit>> Handle(TRequest command, CancellationToken cancellationToken)
    {
        var found = await CrmRecords.FindToWriteAsync(db, table.Rows(db), table.Resource, command.Id, command.IfMatch, cancellationToken);
        if (!found.IsSuccess)
        {
            return found.Error!;
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        found.Value.DeletedAt = stamp.Now;
        stamp.Touch(found.Value);
        var error = await CrmRecords.SaveAsync(db, table.Resource, command.Id, null, cancellationToken);
        return error is null ? Unit.Value : error;
    }
}

/// <summary>Validates a create request's body with the resource's write-model rules.</summary>
public abstract class CreateRecordValidator<TRequest, TFields> : AbstractValidator<TRequest>
    where TRequest : ICreateRecord<TFields>
{
    protected CreateRecordValidator(IValidator<TFields> fields) => RuleFor(x => x.Fields).SetValidator(fields);
}
