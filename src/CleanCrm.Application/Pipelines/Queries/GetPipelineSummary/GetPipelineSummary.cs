using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Pipelines.Queries.GetPipelineSummary;

/// <summary>Open deals per stage of a pipeline (the default one when none is named), amounts summed per currency.</summary>
[RequiresPermission(Permission.CrmRead)]
public sealed record GetPipelineSummary(Guid? PipelineId = null) : IQuery<Result<PipelineSummaryDto>>, IOrgScopedRequest;

public sealed record PipelineSummaryDto(Guid PipelineId, string Name, IReadOnlyList<StageSummaryDto> Stages);

public sealed record StageSummaryDto(Guid StageId, string Name, int Probability, int OpenDeals, IReadOnlyList<AmountByCurrency> Amounts);

/// <summary>A sum of amounts (minor units) in one currency; amounts in different currencies are never added up.</summary>
public sealed record AmountByCurrency(string? Currency, long Amount);

public sealed class GetPipelineSummaryHandler(ITenantDbContext db) : IQueryHandler<GetPipelineSummary, Result<PipelineSummaryDto>>
{
    public async ValueTask<Result<PipelineSummaryDto>> Handle(GetPipelineSummary query, CancellationToken cancellationToken)
    {
        var pipeline = await db.Pipelines.AsNoTracking().Include(p => p.Stages.Where(s => s.DeletedAt == null))
            .Where(p => p.DeletedAt == null && (query.PipelineId == null ? p.IsDefault : p.Id == query.PipelineId))
            .FirstOrDefaultAsync(cancellationToken);
        if (pipeline is null)
        {
            return Error.NotFound("Pipeline", query.PipelineId?.ToString() ?? "default");
        }

        var totals = await db.Deals.AsNoTracking()
            .Where(d => d.PipelineId == pipeline.Id && d.DeletedAt == null && d.Status == DealStatus.Open)
            .GroupBy(d => new { d.StageId, d.Currency })
            .Select(g => new { g.Key.StageId, g.Key.Currency, Count = g.Count(), Amount = g.Sum(d => d.Amount ?? 0) })
            .ToListAsync(cancellationToken);
        var stages = pipeline.Stages.OrderBy(s => s.Position).Select(s =>
        {
            var rows = totals.Where(t => t.StageId == s.Id).OrderBy(t => t.Currency, StringComparer.Ordinal).ToList();
            return new StageSummaryDto(s.Id, s.Name, s.Probability, rows.Sum(r => r.Count),
                [.. rows.Select(r => new AmountByCurrency(r.Currency, r.Amount))]);
        }).ToList();
        return new PipelineSummaryDto(pipeline.Id, pipeline.Name, stages);
    }
}
