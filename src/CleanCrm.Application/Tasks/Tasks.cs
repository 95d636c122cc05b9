using System.Text.Json;
using System.Text.Json.Serialization;
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
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Tasks;

public sealed record TaskDto(
    Guid Id,
    string Title,
    string? Description,
    DateTimeOffset? DueAt,
    TaskPriority Priority,
    CrmTaskStatus Status,
    Guid? AssigneeId,
    DateTimeOffset? CompletedAt,
    TaskOrigin Origin,
    Guid? CompanyId,
    Guid? ContactId,
    Guid? DealId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static TaskDto From(CrmTask t) =>
        new(t.Id, t.Title, t.Description, t.DueAt, t.Priority, t.Status, t.AssigneeId, t.CompletedAt, t.Origin, t.CompanyId, t.ContactId, t.DealId, t.CreatedAt, t.UpdatedAt) { Version = t.Version };
}

public sealed record TaskFields : IAttachmentFields
{
    public string? Title { get; init; }

    public string? Description { get; init; }

    public DateTimeOffset? DueAt { get; init; }

    public TaskPriority? Priority { get; init; }

    public CrmTaskStatus? Status { get; init; }

    public Guid? AssigneeId { get; init; }

    public TaskOrigin? Origin { get; init; }

    public Guid? CompanyId { get; init; }

    public Guid? ContactId { get; init; }

    public Guid? DealId { get; init; }

    public static TaskFields From(CrmTask t) => new()
    {
        Title = t.Title, Description = t.Description, DueAt = t.DueAt, Priority = t.Priority, Status = t.Status, AssigneeId = t.AssigneeId, Origin = t.Origin,
        CompanyId = t.CompanyId, ContactId = t.ContactId, DealId = t.DealId,
    };

    /// <summary>completedAt is kept by the server: set when a task becomes done, cleared when it is reopened.</summary>
    public void ApplyTo(CrmTask task, WriteStamp stamp)
    {
        task.Title = Title!.Trim();
        task.Description = Description;
        task.DueAt = DueAt;
        task.Priority = Priority ?? TaskPriority.Normal;
        var status = Status ?? CrmTaskStatus.Open;
        if (status == CrmTaskStatus.Done && task.CompletedAt is null)
        {
            task.CompletedAt = stamp.Now;
        }
        else if (status != CrmTaskStatus.Done)
        {
            task.CompletedAt = null;
        }

        task.Status = status;
        task.AssigneeId = AssigneeId;
        task.Origin = Origin ?? TaskOrigin.Manual;
        this.ApplyTo((AttachedEntity)task);
    }
}

public sealed class TaskFieldsValidator : AbstractValidator<TaskFields>
{
    public TaskFieldsValidator()
    {
        RuleFor(x => x.Title).NotEmpty().WithMessage("is required.").MaximumLength(300).WithMessage("must be at most 300 characters.");
        RuleFor(x => x.Description).MaximumLength(20_000).WithMessage("must be at most 20,000 characters.");
        RuleFor(x => x.AssigneeId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        this.AddAttachmentRules();
    }
}

internal static class TaskWrites
{
    public static RecordWrites<CrmTask, TaskFields> For(ITenantDbContext db) => new(
        "Task",
        TaskFields.From,
        new TaskFieldsValidator(),
        async (fields, current, ct) => await AttachmentRules.CheckAsync(db, fields, current, ct)
                                       ?? (fields.AssigneeId != current?.AssigneeId ? await CrmReferences.CheckMemberAsync(db, fields.AssigneeId, "assigneeId", ct) : null),
        (fields, task, stamp) => fields.ApplyTo(task, stamp));
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateTask(TaskFields Fields) : ICommand<Result<TaskDto>>, IOrgScopedRequest;

public sealed class CreateTaskValidator : AbstractValidator<CreateTask>
{
    public CreateTaskValidator() => RuleFor(x => x.Fields).SetValidator(new TaskFieldsValidator());
}

public sealed class CreateTaskHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<CreateTask, Result<TaskDto>>
{
    public async ValueTask<Result<TaskDto>> Handle(CreateTask command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.CreateAsync(db, db.Tasks, command.Fields, new CrmTask { Title = command.Fields.Title! }, TaskWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? TaskDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateTask(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<TaskDto>>, IOrgScopedRequest;

public sealed class UpdateTaskHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<UpdateTask, Result<TaskDto>>
{
    public async ValueTask<Result<TaskDto>> Handle(UpdateTask command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.PatchAsync(db, db.Tasks, command.Id, command.Patch, command.IfMatch, TaskWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? TaskDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteTask(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteTaskHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<DeleteTask, Result<Unit>>
{
    public ValueTask<Result<Unit>> Handle(DeleteTask command, CancellationToken cancellationToken) =>
        CrmRecords.SoftDeleteAsync(db, db.Tasks, command.Id, command.IfMatch, "Task", caller, clock, cancellationToken);
}

[RequiresPermission(Permission.CrmRead)]
public sealed record GetTask(Guid Id) : IQuery<Result<TaskDto>>, IOrgScopedRequest;

public sealed class GetTaskHandler(ITenantDbContext db) : IQueryHandler<GetTask, Result<TaskDto>>
{
    public async ValueTask<Result<TaskDto>> Handle(GetTask query, CancellationToken cancellationToken)
    {
        var task = await db.Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.Id == query.Id && t.DeletedAt == null, cancellationToken);
        return task is null ? Error.NotFound("Task", query.Id) : TaskDto.From(task);
    }
}

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
        var tasks = db.Tasks.Where(t => t.DeletedAt == null).AttachedTo(query.CompanyId, query.ContactId, query.DealId);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var text = query.Q.Trim().ToLowerInvariant();
            tasks = tasks.Where(t => t.Title.ToLower().Contains(text) || (t.Description ?? string.Empty).ToLower().Contains(text));
        }

        if (ApiEnum<CrmTaskStatus>.Parse(query.Status) is { } status)
        {
            tasks = tasks.Where(t => t.Status == status);
        }

        if (ApiEnum<TaskPriority>.Parse(query.Priority) is { } priority)
        {
            tasks = tasks.Where(t => t.Priority == priority);
        }

        if (query.AssigneeId is { } assigneeId)
        {
            tasks = tasks.Where(t => t.AssigneeId == assigneeId);
        }

        if (query.DueAfter is { } after)
        {
            tasks = tasks.Where(t => t.DueAt >= after);
        }

        if (query.DueBefore is { } before)
        {
            tasks = tasks.Where(t => t.DueAt < before);
        }

        return await Sorts.PageAsync(tasks, query, TaskDto.From, cancellationToken);
    }
}
