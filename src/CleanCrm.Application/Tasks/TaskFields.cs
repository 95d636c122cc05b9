using CleanCrm.Application.Common.Crm;
using CleanCrm.Domain.Tenant;
using FluentValidation;

namespace CleanCrm.Application.Tasks;

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
        Title = t.Title,
        Description = t.Description,
        DueAt = t.DueAt,
        Priority = t.Priority,
        Status = t.Status,
        AssigneeId = t.AssigneeId,
        Origin = t.Origin,
        CompanyId = t.CompanyId,
        ContactId = t.ContactId,
        DealId = t.DealId,
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
