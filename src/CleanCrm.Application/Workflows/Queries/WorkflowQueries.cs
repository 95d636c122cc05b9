using System.Globalization;
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

namespace CleanCrm.Application.Workflows.Queries;

/// <summary>The organization's workflows, one page (sort <c>name</c>, <c>createdAt</c>, <c>updatedAt</c>; <c>q</c>: the name).</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record ListWorkflows(int? Limit = null, string? Cursor = null, string? Sort = null, string? Q = null)
    : IQuery<Result<Page<WorkflowDto>>>, IOrgScopedRequest, IListQuery;

public sealed class ListWorkflowsValidator() : ListQueryValidator<ListWorkflows, Workflow>(ListWorkflowsHandler.Sorts);

public sealed class ListWorkflowsHandler(ITenantDbContext db) : IQueryHandler<ListWorkflows, Result<Page<WorkflowDto>>>
{
    public static readonly SortKeys<Workflow> Sorts = new(
        "createdAt",
        SortKey<Workflow>.Text("name", w => w.Name),
        SortKey<Workflow>.Time("createdAt", w => w.CreatedAt),
        SortKey<Workflow>.Time("updatedAt", w => w.UpdatedAt));

    public async ValueTask<Result<Page<WorkflowDto>>> Handle(ListWorkflows query, CancellationToken cancellationToken)
    {
        var workflows = db.Workflows.Where(w => w.DeletedAt == null).Search(query.Q, text => w => w.Name.ToLower().Contains(text));
        return await Sorts.PageAsync(workflows, query, WorkflowDto.From, cancellationToken);
    }
}

[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record GetWorkflow(Guid Id) : IQuery<Result<WorkflowDto>>, IOrgScopedRequest;

public sealed class GetWorkflowHandler(ITenantDbContext db) : IQueryHandler<GetWorkflow, Result<WorkflowDto>>
{
    public async ValueTask<Result<WorkflowDto>> Handle(GetWorkflow query, CancellationToken cancellationToken)
    {
        var workflow = await db.Workflows.AsNoTracking().FirstOrDefaultAsync(w => w.Id == query.Id && w.DeletedAt == null,
            cancellationToken);
        return workflow is null ? Error.NotFound(WorkflowRecord.Resource, query.Id) : WorkflowDto.From(workflow);
    }
}

/// <summary>A workflow's runs, newest first, each with its status, error and per-action results.</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record ListWorkflowRuns(Guid WorkflowId, int? Limit, string? Cursor)
    : IQuery<Result<Page<WorkflowRunDto>>>, IOrgScopedRequest;

public sealed class ListWorkflowRunsHandler(ITenantDbContext db) : IQueryHandler<ListWorkflowRuns, Result<Page<WorkflowRunDto>>>
{
    private const string Sort = "-sequence";

    public async ValueTask<Result<Page<WorkflowRunDto>>> Handle(ListWorkflowRuns query, CancellationToken cancellationToken)
    {
        var limit = query.Limit ?? Cursor.DefaultLimit;
        if (limit is < 1 or > Cursor.MaxLimit)
        {
            return Error.Validation("limit", $"limit must be between 1 and {Cursor.MaxLimit}.");
        }

        if (!Cursor.TryDecode(query.Cursor, Sort, out var cursor)
            || (cursor is not null && !long.TryParse(cursor.Value, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return Error.Validation("cursor", "cursor is not a cursor of this list; pass back nextCursor unchanged.");
        }

        if (!await db.Workflows.AnyAsync(w => w.Id == query.WorkflowId && w.DeletedAt == null, cancellationToken))
        {
            return Error.NotFound(WorkflowRecord.Resource, query.WorkflowId);
        }

        var runs = db.WorkflowRuns.AsNoTracking().Where(r => r.WorkflowId == query.WorkflowId);
        if (cursor is not null)
        {
            var after = long.Parse(cursor.Value!, CultureInfo.InvariantCulture);
            runs = runs.Where(r => r.Sequence < after);
        }

        var page = await runs.OrderByDescending(r => r.Sequence).Take(limit + 1).ToListAsync(cancellationToken);
        var next = page.Count > limit
            ? new Cursor(Sort, page[limit - 1].Sequence.ToString(CultureInfo.InvariantCulture), page[limit - 1].Id).Encode()
            : null;
        return new Page<WorkflowRunDto>([.. page.Take(limit).Select(WorkflowRunDto.From)], next);
    }
}
