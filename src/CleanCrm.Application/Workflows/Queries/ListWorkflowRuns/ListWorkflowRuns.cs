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

namespace CleanCrm.Application.Workflows.Queries.ListWorkflowRuns;

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
