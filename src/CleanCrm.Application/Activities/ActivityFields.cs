using CleanCrm.Application.Common.Crm;
using CleanCrm.Domain.Tenant;
using FluentValidation;

namespace CleanCrm.Application.Activities;

public sealed record ActivityFields : IAttachmentFields
{
    public static readonly string[] Types = ["call", "email", "meeting", "message", "note", "task", "other"];

    public string? Type { get; init; }

    public string? Subject { get; init; }

    public string? Body { get; init; }

    public DateTimeOffset? OccurredAt { get; init; }

    public Guid? ActorId { get; init; }

    public ActivitySource? Source { get; init; }

    public string? ExternalId { get; init; }

    public Guid? CompanyId { get; init; }

    public Guid? ContactId { get; init; }

    public Guid? DealId { get; init; }

    public static ActivityFields From(CrmActivity a) => new()
    {
        Type = a.Type,
        Subject = a.Subject,
        Body = a.Body,
        OccurredAt = a.OccurredAt,
        ActorId = a.ActorId,
        Source = a.Source,
        ExternalId = a.ExternalId,
        CompanyId = a.CompanyId,
        ContactId = a.ContactId,
        DealId = a.DealId,
    };

    public void ApplyTo(CrmActivity activity, WriteStamp stamp)
    {
        activity.Type = Type!;
        activity.Subject = Subject?.Trim();
        activity.Body = Body;
        activity.OccurredAt = OccurredAt ?? stamp.Now;
        activity.ActorId = ActorId;
        activity.Source = Source ?? ActivitySource.Manual;
        activity.ExternalId = string.IsNullOrWhiteSpace(ExternalId) ? null : ExternalId.Trim();
        this.ApplyTo((AttachedEntity)activity);
    }
}

public sealed class ActivityFieldsValidator : AbstractValidator<ActivityFields>
{
    public ActivityFieldsValidator()
    {
        RuleFor(x => x.Type).NotEmpty().WithMessage("is required.")
            .Must(t => t is null || ActivityFields.Types.Contains(t))
            .WithMessage($"must be one of {string.Join(", ", ActivityFields.Types)}.");
        RuleFor(x => x.Subject).MaximumLength(300).WithMessage("must be at most 300 characters.");
        RuleFor(x => x.Body).MaximumLength(100_000).WithMessage("must be at most 100,000 characters.");
        RuleFor(x => x.ExternalId).MaximumLength(200).WithMessage("must be at most 200 characters.");
        RuleFor(x => x.ActorId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        this.AddAttachmentRules();
    }
}
