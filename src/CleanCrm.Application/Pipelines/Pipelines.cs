using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Pipelines;

/// <summary>A pipeline with its ordered stages (SPEC §6.3).</summary>
public sealed record PipelineDto(Guid Id, string Name, bool IsDefault, IReadOnlyList<PipelineStageDto> Stages)
{
    public static PipelineDto From(Pipeline pipeline) => new(
        pipeline.Id,
        pipeline.Name,
        pipeline.IsDefault,
        [.. pipeline.Stages.OrderBy(s => s.Position).Select(s => new PipelineStageDto(s.Id, s.Name, s.Position, s.Probability, s.Kind))]);
}

public sealed record PipelineStageDto(Guid Id, string Name, int Position, int Probability, StageKind Kind);

/// <summary>Every live pipeline of the organization, default first (organizations have a handful, so one page).</summary>
[RequiresPermission(Permission.CrmRead)]
public sealed record ListPipelines : IQuery<Result<Page<PipelineDto>>>, IOrgScopedRequest;

public sealed class ListPipelinesHandler(ITenantDbContext db) : IQueryHandler<ListPipelines, Result<Page<PipelineDto>>>
{
    public async ValueTask<Result<Page<PipelineDto>>> Handle(ListPipelines query, CancellationToken cancellationToken)
    {
        var pipelines = await db.Pipelines.AsNoTracking().Include(p => p.Stages)
            .Where(p => p.DeletedAt == null)
            .OrderByDescending(p => p.IsDefault).ThenBy(p => p.Name).ThenBy(p => p.Id)
            .ToListAsync(cancellationToken);
        return new Page<PipelineDto>([.. pipelines.Select(PipelineDto.From)], null);
    }
}

[RequiresPermission(Permission.CrmRead)]
public sealed record GetPipeline(Guid Id) : IQuery<Result<PipelineDto>>, IOrgScopedRequest;

public sealed class GetPipelineHandler(ITenantDbContext db) : IQueryHandler<GetPipeline, Result<PipelineDto>>
{
    public async ValueTask<Result<PipelineDto>> Handle(GetPipeline query, CancellationToken cancellationToken)
    {
        var pipeline = await db.Pipelines.AsNoTracking().Include(p => p.Stages).FirstOrDefaultAsync(p => p.Id == query.Id && p.DeletedAt == null, cancellationToken);
        return pipeline is null ? Error.NotFound("Pipeline", query.Id) : PipelineDto.From(pipeline);
    }
}
