using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Pipelines.Queries.ListPipelines;

/// <summary>Every live pipeline of the organization, default first (organizations have a handful, so one page).</summary>
[RequiresPermission(Permission.CrmRead)]
public sealed record ListPipelines : IQuery<Result<Page<PipelineDto>>>, IOrgScopedRequest;

public sealed class ListPipelinesHandler(ITenantDbContext db) : IQueryHandler<ListPipelines, Result<Page<PipelineDto>>>
{
    public async ValueTask<Result<Page<PipelineDto>>> Handle(ListPipelines query, CancellationToken cancellationToken)
    {
        var pipelines = await db.Pipelines.AsNoTracking().Include(p => p.Stages.Where(s => s.DeletedAt == null))
            .Where(p => p.DeletedAt == null)
            .OrderByDescending(p => p.IsDefault).ThenBy(p => p.Name).ThenBy(p => p.Id)
            .ToListAsync(cancellationToken);
        return new Page<PipelineDto>([.. pipelines.Select(PipelineDto.From)], null);
    }
}
