using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Workflows.Queries.ListWorkflowRuns;

/// <summary>A workflow's runs, newest first, each with its status, error and per-action results.</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record ListWorkflowRuns(Guid WorkflowId, int? Limit, string? Cursor)
    : IQuery<Result<Page<WorkflowRunDto>>>, IOrgScopedRequest;

public sealed class ListWorkflowRunsHandler(ITenantDbContext db) : IQueryHandler<ListWorkflowRuns, Result<Page<WorkflowRunDto>>>
{
    public async ValueTask<Result<Page<WorkflowRunDto>>> Handle(ListWorkflowRuns query, CancellationToken cancellationToken)
    {
        if (LogPage.Read(query.Limit, query.Cursor, out var limit, out var before) is { } invalid)
        {
            return invalid;
        }

        if (!await db.Workflows.AnyAsync(w => w.Id == query.WorkflowId && w.DeletedAt == null, cancellationToken))
        {
            return Error.NotFound(WorkflowRecord.Resource, query.WorkflowId);
        }

        var runs = db.WorkflowRuns.AsNoTracking().Where(r => r.WorkflowId == query.WorkflowId);
        if (before is { } last)
        {
            runs = runs.Where(r => r.Sequence < last);
        }

        var page = await runs.OrderByDescending(r => r.Sequence).Take(limit + 1).ToListAsync(cancellationToken);
        return LogPage.From(page, limit, r => r.Sequence, r => r.Id, WorkflowRunDto.From);
    }
}
