using System.Text.Json;
using CleanCrm.Application.Common.Behaviors;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Deals.Commands;

internal static class DealReferences
{
    public static async Task<Error?> CheckAsync(ITenantDbContext db, DealFields fields, Deal? current, CancellationToken cancellationToken) =>
        (fields.CompanyId != current?.CompanyId ? await CrmReferences.CheckCompanyAsync(db, fields.CompanyId, "companyId", cancellationToken) : null)
        ?? (fields.PrimaryContactId != current?.PrimaryContactId ? await CrmReferences.CheckContactAsync(db, fields.PrimaryContactId, "primaryContactId", cancellationToken) : null)
        ?? (fields.OwnerId != current?.OwnerId ? await CrmReferences.CheckOwnerAsync(db, fields.OwnerId, cancellationToken) : null);
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateDeal(DealFields Fields) : ICommand<Result<DealDto>>, IOrgScopedRequest;

public sealed class CreateDealValidator : AbstractValidator<CreateDeal>
{
    public CreateDealValidator() => RuleFor(x => x.Fields).SetValidator(new DealFieldsValidator());
}

public sealed class CreateDealHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<CreateDeal, Result<DealDto>>
{
    public async ValueTask<Result<DealDto>> Handle(CreateDeal command, CancellationToken cancellationToken)
    {
        var fields = command.Fields;
        if (await DealReferences.CheckAsync(db, fields, null, cancellationToken) is { } referenceError)
        {
            return referenceError;
        }

        var stage = await DealStages.ResolveAsync(db, fields.PipelineId, fields.StageId, cancellationToken);
        if (!stage.IsSuccess)
        {
            return stage.Error!;
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        var deal = stamp.Stamp(new Deal { Name = fields.Name! });
        fields.ApplyTo(deal);
        DealStages.Enter(db, deal, stage.Value, null, fields.Probability, stamp);
        if (deal.Status == DealStatus.Lost && fields.LostReason is { } reason)
        {
            deal.LostReason = reason.Trim();
        }

        db.Deals.Add(deal);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (Exception exception) when (CrmRecords.FromSaveFailure(exception, "Deal", deal.Id) is { } error)
        {
            return error;
        }

        return DealDto.From(deal);
    }
}

/// <summary>JSON merge patch of a deal; a new stageId moves the deal (stage history, status) like <see cref="MoveDeal"/>.</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateDeal(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<DealDto>>, IOrgScopedRequest;

public sealed class UpdateDealHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<UpdateDeal, Result<DealDto>>
{
    private static readonly DealFieldsValidator Validator = new();

    public async ValueTask<Result<DealDto>> Handle(UpdateDeal command, CancellationToken cancellationToken)
    {
        var deal = await db.Deals.FirstOrDefaultAsync(d => d.Id == command.Id && d.DeletedAt == null, cancellationToken);
        if (deal is null)
        {
            return Error.NotFound("Deal", command.Id);
        }

        if (command.IfMatch is { } expected && expected != deal.Version)
        {
            return CrmRecords.Stale("Deal", command.Id);
        }

        var merged = JsonMergePatch.Apply(DealFields.From(deal), command.Patch);
        if (!merged.IsSuccess)
        {
            return merged.Error!;
        }

        var fields = merged.Value;
        var validation = await Validator.ValidateAsync(fields, cancellationToken);
        if (!validation.IsValid)
        {
            return ValidationErrors.From(validation.Errors);
        }

        if (await DealReferences.CheckAsync(db, fields, deal, cancellationToken) is { } referenceError)
        {
            return referenceError;
        }

        var moves = fields.StageId != deal.StageId || fields.PipelineId != deal.PipelineId;
        PipelineStage? stage = null;
        if (moves)
        {
            var resolved = await DealStages.ResolveAsync(db, fields.PipelineId ?? deal.PipelineId, fields.StageId, cancellationToken);
            if (!resolved.IsSuccess)
            {
                return resolved.Error!;
            }

            stage = resolved.Value;
        }

        db.ExpectVersion(deal, command.IfMatch ?? deal.Version);
        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        var probabilityChanged = fields.Probability != deal.Probability;
        fields.ApplyTo(deal);
        if (stage is not null && stage.Id != deal.StageId)
        {
            DealStages.Enter(db, deal, stage, deal.StageId, probabilityChanged ? fields.Probability : null, stamp);
        }
        else
        {
            deal.Probability = fields.Probability ?? deal.Probability;
        }

        deal.UpdatedAt = stamp.Now;
        deal.UpdatedBy = stamp.Actor;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (Exception exception) when (CrmRecords.FromSaveFailure(exception, "Deal", deal.Id) is { } error)
        {
            return error;
        }

        return DealDto.From(deal);
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteDeal(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteDealHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<DeleteDeal, Result<Unit>>
{
    public ValueTask<Result<Unit>> Handle(DeleteDeal command, CancellationToken cancellationToken) =>
        CrmRecords.SoftDeleteAsync(db, db.Deals, command.Id, command.IfMatch, "Deal", caller, clock, cancellationToken);
}

public sealed record MoveDealBody(Guid? StageId, string? LostReason);

/// <summary>Moves a deal to another stage of its pipeline: records the move; won/lost stages close it, open stages reopen it.</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record MoveDeal(Guid Id, MoveDealBody Body, uint? IfMatch) : ICommand<Result<DealDto>>, IOrgScopedRequest;

public sealed class MoveDealValidator : AbstractValidator<MoveDeal>
{
    public MoveDealValidator()
    {
        RuleFor(x => x.Body.StageId).NotNull().WithMessage("is required.").NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.").OverridePropertyName("stageId");
        RuleFor(x => x.Body.LostReason).MaximumLength(500).WithMessage("must be at most 500 characters.").OverridePropertyName("lostReason");
    }
}

public sealed class MoveDealHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<MoveDeal, Result<DealDto>>
{
    public async ValueTask<Result<DealDto>> Handle(MoveDeal command, CancellationToken cancellationToken)
    {
        var deal = await db.Deals.FirstOrDefaultAsync(d => d.Id == command.Id && d.DeletedAt == null, cancellationToken);
        if (deal is null)
        {
            return Error.NotFound("Deal", command.Id);
        }

        if (command.IfMatch is { } expected && expected != deal.Version)
        {
            return CrmRecords.Stale("Deal", command.Id);
        }

        var stage = await db.PipelineStages.AsNoTracking().FirstOrDefaultAsync(s => s.Id == command.Body.StageId, cancellationToken);
        if (stage is null || stage.PipelineId != deal.PipelineId)
        {
            return CrmReferences.InvalidReference("stageId", $"stageId '{command.Body.StageId}' is not a stage of the deal's pipeline '{deal.PipelineId}'.");
        }

        if (command.Body.LostReason is not null && stage.Kind != StageKind.Lost)
        {
            return Error.Validation("lostReason", "lostReason can only be given when moving to a lost stage.");
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        if (stage.Id != deal.StageId)
        {
            db.ExpectVersion(deal, command.IfMatch ?? deal.Version);
            DealStages.Enter(db, deal, stage, deal.StageId, null, stamp);
        }

        if (command.Body.LostReason is { } reason)
        {
            deal.LostReason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        }

        deal.UpdatedAt = stamp.Now;
        deal.UpdatedBy = stamp.Actor;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (Exception exception) when (CrmRecords.FromSaveFailure(exception, "Deal", deal.Id) is { } error)
        {
            return error;
        }

        return DealDto.From(deal);
    }
}
