using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Deals;

/// <summary>Resolves the pipeline and stage a deal is placed in, and what entering a stage does to the deal.</summary>
internal static class DealStages
{
    /// <summary>
    /// The stage named by the client, or when none is given the first open stage of the pipeline (the default pipeline
    /// when none is named). The stage must belong to the pipeline.
    /// </summary>
    public static async Task<Result<PipelineStage>> ResolveAsync(
        ITenantDbContext db, Guid? pipelineId, Guid? stageId, CancellationToken cancellationToken)
    {
        var pipelines = db.Pipelines.AsNoTracking().Include(p => p.Stages.Where(s => s.DeletedAt == null)).Where(p => p.DeletedAt == null);
        var pipeline = pipelineId is { } id
            ? await pipelines.FirstOrDefaultAsync(p => p.Id == id, cancellationToken)
            : await pipelines.FirstOrDefaultAsync(p => p.IsDefault, cancellationToken);
        if (pipeline is null)
        {
            return pipelineId is null
                ? CrmReferences.InvalidReference("pipelineId", "pipelineId is required: this organization has no default pipeline.")
                : CrmReferences.InvalidReference(
                    "pipelineId", $"pipelineId '{pipelineId}' does not name a live pipeline of this organization.");
        }

        if (stageId is null)
        {
            var first = pipeline.Stages.Where(s => s.Kind == StageKind.Open).MinBy(s => s.Position)
                        ?? pipeline.Stages.MinBy(s => s.Position);
            return first is null ? CrmReferences.InvalidReference("pipelineId", $"Pipeline '{pipeline.Id}' has no stages.") : first;
        }

        var stage = pipeline.Stages.FirstOrDefault(s => s.Id == stageId);
        return stage is null
            ? CrmReferences.InvalidReference("stageId", $"stageId '{stageId}' is not a stage of pipeline '{pipeline.Id}'.")
            : stage;
    }

    /// <summary>Puts the deal in a stage: records the move, takes the stage's probability and status, closes or reopens it.</summary>
    public static void Enter(ITenantDbContext db, Deal deal, PipelineStage stage, Guid? fromStageId, int? probability, WriteStamp stamp)
    {
        deal.PipelineId = stage.PipelineId;
        deal.StageId = stage.Id;
        deal.StageEnteredAt = stamp.Now;
        deal.Probability = probability ?? stage.Probability;
        var status = stage.Kind switch
        {
            StageKind.Won => DealStatus.Won,
            StageKind.Lost => DealStatus.Lost,
            _ => DealStatus.Open,
        };
        if (status != deal.Status || (status != DealStatus.Open && deal.ClosedAt is null))
        {
            deal.ClosedAt = status == DealStatus.Open ? null : stamp.Now;
        }

        if (status != DealStatus.Lost)
        {
            deal.LostReason = null;
        }

        deal.Status = status;
        var change = new DealStageChange { DealId = deal.Id, FromStageId = fromStageId, ToStageId = stage.Id, ChangedAt = stamp.Now };
        db.DealStageHistory.Add(stamp.Stamp(change));
    }
}
