using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Deals.Commands.MoveDeal;

public sealed record MoveDealBody(Guid? StageId, string? LostReason);

/// <summary>Moves a deal to another stage of its pipeline: records the move; won/lost stages close it, open stages reopen it.</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record MoveDeal(Guid Id, MoveDealBody Body, uint? IfMatch) : ICommand<Result<DealDto>>, IOrgScopedRequest;

public sealed class MoveDealValidator : AbstractValidator<MoveDeal>
{
    public MoveDealValidator()
    {
        RuleFor(x => x.Body.StageId).NotNull().WithMessage("is required.")
            .NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.")
            .OverridePropertyName("stageId");
        RuleFor(x => x.Body.LostReason).MaximumLength(500).WithMessage("must be at most 500 characters.")
            .OverridePropertyName("lostReason");
    }
}

public sealed class MoveDealHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<MoveDeal, Result<DealDto>>
{
    public async ValueTask<Result<DealDto>> Handle(MoveDeal command, CancellationToken cancellationToken)
    {
        var found = await CrmRecords.FindAsync(db.Deals, DealRecord.Table.Resource, command.Id, command.IfMatch, cancellationToken);
        if (!found.IsSuccess)
        {
            return found.Error!;
        }

        var deal = found.Value;
        var stage = await db.PipelineStages.AsNoTracking()
            .FirstOrDefaultAsync(s => s.Id == command.Body.StageId && s.DeletedAt == null, cancellationToken);
        if (stage is null || stage.PipelineId != deal.PipelineId)
        {
            return CrmReferences.InvalidReference(
                "stageId", $"stageId '{command.Body.StageId}' is not a stage of the deal's pipeline '{deal.PipelineId}'.");
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

        stamp.Touch(deal);
        var error = await CrmRecords.SaveAsync(db, DealRecord.Table.Resource, deal.Id, null, cancellationToken);
        return error is null ? DealDto.From(deal) : error;
    }
}
