using FluentValidation;

namespace CleanCrm.Application.Common.Crm;

/// <summary>The title and time span of a meeting or a calendar event.</summary>
public interface IScheduleFields
{
    string? Title { get; }

    string? Description { get; }

    DateTimeOffset? StartsAt { get; }

    DateTimeOffset? EndsAt { get; }

    string? Location { get; }
}

public static class ScheduleRules
{
    public static void AddScheduleRules<T>(this AbstractValidator<T> validator)
        where T : IScheduleFields
    {
        validator.RuleFor(x => x.Title).NotEmpty().WithMessage("is required.")
            .MaximumLength(300).WithMessage("must be at most 300 characters.");
        validator.RuleFor(x => x.Description).MaximumLength(20_000).WithMessage("must be at most 20,000 characters.");
        validator.RuleFor(x => x.StartsAt).NotNull().WithMessage("is required.");
        validator.RuleFor(x => x.EndsAt).Must((m, end) => end is null || m.StartsAt is null || end >= m.StartsAt)
            .WithMessage("must not be before startsAt.");
        validator.RuleFor(x => x.Location).MaximumLength(500).WithMessage("must be at most 500 characters.");
    }
}
