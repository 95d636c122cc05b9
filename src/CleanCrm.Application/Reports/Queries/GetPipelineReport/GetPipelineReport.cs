using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Reports.Queries.GetPipelineReport;

/// <summary>The open deals of one currency in a stage.</summary>
public sealed record StageAmountDto(string Currency, int DealCount, long Amount, long WeightedAmount);

/// <summary>One open stage: its current name and position, the open deals in it and how long they have been there.</summary>
public sealed record PipelineStageReportDto(
    Guid PipelineId,
    string PipelineName,
    Guid StageId,
    string StageName,
    int Position,
    int Probability,
    int DealCount,
    double? AverageAgeDays,
    IReadOnlyList<StageAmountDto> Amounts);

public sealed record PipelineReportDto(IReadOnlyList<PipelineStageReportDto> Items);

/// <summary>
/// The open pipeline per stage (docs/REPORTS.md): count, amount and weighted amount per currency, average age in stage.
/// Deals are grouped by stage id, so renamed, reordered or merged stages show under their current name.
/// </summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.AdvancedReporting)]
public sealed record GetPipelineReport(Guid? PipelineId = null, Guid? OwnerId = null, DateOnly? From = null, DateOnly? To = null)
    : IQuery<Result<PipelineReportDto>>, IOrgScopedRequest, IReportFilter;

public sealed class GetPipelineReportValidator : ReportFilterValidator<GetPipelineReport>;

public sealed class GetPipelineReportHandler(ITenantDbContext db, TimeProvider clock)
    : IQueryHandler<GetPipelineReport, Result<PipelineReportDto>>
{
    public async ValueTask<Result<PipelineReportDto>> Handle(GetPipelineReport query, CancellationToken cancellationToken)
    {
        if (await query.CheckReferencesAsync(db, cancellationToken) is { } invalid)
        {
            return invalid;
        }

        var stages = await db.PipelineStages.AsNoTracking()
            .Where(s => s.DeletedAt == null && s.Position >= 0 && s.Kind == StageKind.Open)
            .Join(db.Pipelines.Where(p => p.DeletedAt == null), s => s.PipelineId, p => p.Id, (s, p) => new { Stage = s, Pipeline = p })
            .Where(x => query.PipelineId == null || x.Pipeline.Id == query.PipelineId)
            .OrderByDescending(x => x.Pipeline.IsDefault).ThenBy(x => x.Pipeline.Name).ThenBy(x => x.Pipeline.Id)
            .ThenBy(x => x.Stage.Position)
            .Select(x => new
            {
                x.Pipeline.Id,
                x.Pipeline.Name,
                StageId = x.Stage.Id,
                StageName = x.Stage.Name,
                x.Stage.Position,
                x.Stage.Probability
            })
            .ToListAsync(cancellationToken);

        // Age in stage counts from the deal's last stage-history entry, which every move writes together with
        // stage_entered_at (DealStages.Enter), so the column stands for the history without a scan of it.
        var now = clock.GetUtcNow();
        var from = query.FromInstant();
        var to = query.ToInstantExclusive();
        var rows = await db.SqlQuery<PipelineRow>($"""
            SELECT d.stage_id, CASE WHEN d.amount IS NULL THEN NULL ELSE d.currency END AS currency, count(*)::int AS deal_count,
                   coalesce(sum(d.amount), 0)::bigint AS amount,
                   round(coalesce(sum(d.amount::numeric * d.probability), 0) / 100)::bigint AS weighted_amount,
                   sum(extract(epoch FROM {now} - d.stage_entered_at))::float8 AS age_seconds
            FROM deals d
            WHERE d.deleted_at IS NULL AND d.status = 'open'
              AND ({query.PipelineId}::uuid IS NULL OR d.pipeline_id = {query.PipelineId}::uuid)
              AND ({query.OwnerId}::uuid IS NULL OR d.owner_id = {query.OwnerId}::uuid)
              AND ({from}::timestamptz IS NULL OR d.created_at >= {from}::timestamptz)
              AND ({to}::timestamptz IS NULL OR d.created_at < {to}::timestamptz)
            GROUP BY 1, 2
            """).ToListAsync(cancellationToken);

        var byStage = rows.ToLookup(r => r.StageId);
        var items = stages.Select(s =>
        {
            var stageRows = byStage[s.StageId].ToList();
            var count = stageRows.Sum(r => r.DealCount);
            var amounts = stageRows.Where(r => r.Currency is not null)
                .OrderBy(r => r.Currency, StringComparer.Ordinal)
                .Select(r => new StageAmountDto(r.Currency!, r.DealCount, r.Amount, r.WeightedAmount))
                .ToList();
            double? age = count == 0 ? null : Math.Round(stageRows.Sum(r => r.AgeSeconds) / count / 86_400, 2);
            return new PipelineStageReportDto(s.Id, s.Name, s.StageId, s.StageName, s.Position, s.Probability, count, age, amounts);
        }).ToList();
        return new PipelineReportDto(items);
    }

    private sealed record PipelineRow(Guid StageId, string? Currency, int DealCount, long Amount, long WeightedAmount, double AgeSeconds);
}
