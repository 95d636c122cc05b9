using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Tasks.Queries.ListTasks;

[RequiresPermission(Permission.CrmRead)]
public sealed record ListTasks(
    int? Limit = null,
    string? Cursor = null,
    string? Sort = null,
    string? Q = null,
    string? Status = null,
    string? Priority = null,
    Guid? AssigneeId = null,
    Guid? CompanyId = null,
    Guid? ContactId = null,
    Guid? DealId = null,
    DateTimeOffset? DueAfter = null,
    DateTimeOffset? DueBefore = null) : IQuery<Result<Page<TaskDto>>>, IOrgScopedRequest, IListQuery;

public sealed class ListTasksValidator : ListQueryValidator<ListTasks, CrmTask>
{
    public ListTasksValidator()
        : base(ListTasksHandler.Sorts)
    {
        RuleFor(x => x.Priority).Must(ApiEnum<TaskPriority>.IsValid).WithMessage($"must be one of {ApiEnum<TaskPriority>.Names}.");
        RuleFor(x => x.Status).Must(ApiEnum<CrmTaskStatus>.IsValid).WithMessage($"must be one of {ApiEnum<CrmTaskStatus>.Names}.");
    }
}

public sealed class ListTasksHandler(ITenantDbContext db) : IQueryHandler<ListTasks, Result<Page<TaskDto>>>
{
    // Tasks without a due date sort after every dated one.
    private static readonly DateTimeOffset Undated = new(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);

    public static readonly SortKeys<CrmTask> Sorts = new(
        "dueAt",
        SortKey<CrmTask>.Time("dueAt", t => t.DueAt ?? Undated),
        SortKey<CrmTask>.Text("title", t => t.Title),
        SortKey<CrmTask>.Time("createdAt", t => t.CreatedAt),
        SortKey<CrmTask>.Time("updatedAt", t => t.UpdatedAt));

    public async ValueTask<Result<Page<TaskDto>>> Handle(ListTasks query, CancellationToken cancellationToken)
    {
        var tasks = db.Tasks.Where(t => t.DeletedAt == null)
            .AttachedTo(query.CompanyId, query.ContactId, query.DealId)
            .Search(query.Q, text => t => t.Title.ToLower().Contains(text) || (t.Description ?? string.Empty).ToLower().Contains(text))
            .WhereIf(ApiEnum<CrmTaskStatus>.Parse(query.Status), status => t => t.Status == status)
            .WhereIf(ApiEnum<TaskPriority>.Parse(query.Priority), priority => t => t.Priority == priority)
            .WhereIf(query.AssigneeId, assigneeId => t => t.AssigneeId == assigneeId)
            .WhereIf(query.DueAfter, after => t => t.DueAt >= after)
            .WhereIf(query.DueBefore, before => t => t.DueAt < before);
        return await Sorts.PageAsync(tasks, query, TaskDto.From, cancellationToken);
    }
}
