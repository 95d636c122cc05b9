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

namespace CleanCrm.Application.Workflows.Queries.GetWorkflow;

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
