using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Pipelines.Queries.GetPipeline;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetPipeline(Guid Id) : IQuery<Result<PipelineDto>>, IOrgScopedRequest;

public sealed class GetPipelineHandler(ITenantDbContext db) : IQueryHandler<GetPipeline, Result<PipelineDto>>
{
    public async ValueTask<Result<PipelineDto>> Handle(GetPipeline query, CancellationToken cancellationToken)
    {
        var pipeline = await db.Pipelines.AsNoTracking().Include(p => p.Stages.Where(s => s.DeletedAt == null))
            .FirstOrDefaultAsync(p => p.Id == query.Id && p.DeletedAt == null, cancellationToken);
        return pipeline is null ? Error.NotFound("Pipeline", query.Id) : PipelineDto.From(pipeline);
    }
}
