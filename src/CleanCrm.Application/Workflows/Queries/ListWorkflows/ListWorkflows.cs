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

namespace CleanCrm.Application.Workflows.Queries.ListWorkflows;

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
