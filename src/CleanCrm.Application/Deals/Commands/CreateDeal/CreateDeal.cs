using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Deals.Commands.CreateDeal;

/// <summary>Creates a deal in the stage named (or the first open stage of the pipeline) and records that first move.</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateDeal(DealFields Fields) : ICommand<Result<DealDto>>, IOrgScopedRequest, ICreateRecord<DealFields>;

public sealed class CreateDealValidator() : CreateRecordValidator<CreateDeal, DealFields>(DealRecord.Validator);

public sealed class CreateDealHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<CreateDeal, Result<DealDto>>
{
    public async ValueTask<Result<DealDto>> Handle(CreateDeal command, CancellationToken cancellationToken)
    {
        var fields = command.Fields;
        if (await DealRecord.CheckReferencesAsync(db, fields, null, cancellationToken) is { } referenceError)
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
        var error = await CrmRecords.SaveAsync(db, DealRecord.Table.Resource, deal.Id, null, cancellationToken);
        return error is null ? DealDto.From(deal) : error;
    }
}
