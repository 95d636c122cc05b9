using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Deals.Commands.UpdateDeal;

/// <summary>JSON merge patch of a deal; a new stageId moves the deal (stage history, status) like MoveDeal.</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateDeal(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<DealDto>>, IOrgScopedRequest, IUpdateRecord;

public sealed class UpdateDealHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<UpdateDeal, Result<DealDto>>
{
    public async ValueTask<Result<DealDto>> Handle(UpdateDeal command, CancellationToken cancellationToken)
    {
        var found = await CrmRecords.FindToWriteAsync(
            db, db.Deals, DealRecord.Table.Resource, command.Id, command.IfMatch, cancellationToken);
        if (!found.IsSuccess)
        {
            return found.Error!;
        }

        var deal = found.Value;
        var merged = await CrmRecords.MergeAsync(DealFields.From(deal), command.Patch, DealRecord.Validator, cancellationToken);
        if (!merged.IsSuccess)
        {
            return merged.Error!;
        }

        var fields = merged.Value;
        if (await DealRecord.CheckReferencesAsync(db, fields, deal, cancellationToken) is { } referenceError)
        {
            return referenceError;
        }

        PipelineStage? stage = null;
        if (fields.StageId != deal.StageId || fields.PipelineId != deal.PipelineId)
        {
            var resolved = await DealStages.ResolveAsync(db, fields.PipelineId ?? deal.PipelineId, fields.StageId, cancellationToken);
            if (!resolved.IsSuccess)
            {
                return resolved.Error!;
            }

            stage = resolved.Value;
        }

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

        stamp.Touch(deal);
        var error = await CrmRecords.SaveAsync(db, DealRecord.Table.Resource, deal.Id, null, cancellationToken);
        return error is null ? DealDto.From(deal) : error;
    }
}
