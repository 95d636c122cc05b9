using CleanCrm.Application.Common.Crm;
using CleanCrm.Domain.Tenant;
using FluentValidation;

namespace CleanCrm.Application.CalendarEvents;

public sealed record CalendarEventFields : IScheduleFields
{
    public string? Title { get; init; }

    public string? Description { get; init; }

    public DateTimeOffset? StartsAt { get; init; }

    public DateTimeOffset? EndsAt { get; init; }

    public bool? AllDay { get; init; }

    public string? Location { get; init; }

    public Guid? OwnerId { get; init; }

    public Guid? MeetingId { get; init; }

    public Guid? CompanyId { get; init; }

    public Guid? ContactId { get; init; }

    public Guid? DealId { get; init; }

    public ActivitySource? Source { get; init; }

    public string? ExternalId { get; init; }

    public static CalendarEventFields From(CalendarEvent e) => new()
    {
        Title = e.Title,
        Description = e.Description,
        StartsAt = e.StartsAt,
        EndsAt = e.EndsAt,
        AllDay = e.AllDay,
        Location = e.Location,
        OwnerId = e.OwnerId,
        MeetingId = e.MeetingId,
        CompanyId = e.CompanyId,
        ContactId = e.ContactId,
        DealId = e.DealId,
        Source = e.Source,
        ExternalId = e.ExternalId,
    };

    public void ApplyTo(CalendarEvent e)
    {
        e.Title = Title!.Trim();
        e.Description = Description;
        e.StartsAt = StartsAt!.Value;
        e.EndsAt = EndsAt ?? StartsAt!.Value;
        e.AllDay = AllDay ?? false;
        e.Location = Location?.Trim();
        e.OwnerId = OwnerId;
        e.MeetingId = MeetingId;
        e.CompanyId = CompanyId;
        e.ContactId = ContactId;
        e.DealId = DealId;
        e.Source = Source ?? ActivitySource.Manual;
        e.ExternalId = string.IsNullOrWhiteSpace(ExternalId) ? null : ExternalId.Trim();
    }
}

public sealed class CalendarEventFieldsValidator : AbstractValidator<CalendarEventFields>
{
    public CalendarEventFieldsValidator()
    {
        this.AddScheduleRules();
        RuleFor(x => x.ExternalId).MaximumLength(200).WithMessage("must be at most 200 characters.");
        RuleFor(x => x.OwnerId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.MeetingId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.CompanyId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.ContactId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.DealId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
    }
}
