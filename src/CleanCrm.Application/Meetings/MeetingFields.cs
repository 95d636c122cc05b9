using CleanCrm.Application.Common.Crm;
using CleanCrm.Domain.Tenant;
using FluentValidation;

namespace CleanCrm.Application.Meetings;

/// <summary>Writable fields; <c>attendees</c> replaces the list, <c>transcript</c> is the manually entered transcript.</summary>
public sealed record MeetingFields : IScheduleFields
{
    public const int MaxTranscriptLength = 500_000;

    public string? Title { get; init; }

    public string? Description { get; init; }

    public DateTimeOffset? StartsAt { get; init; }

    public DateTimeOffset? EndsAt { get; init; }

    public string? Location { get; init; }

    public Guid? CompanyId { get; init; }

    public Guid? DealId { get; init; }

    public List<MeetingAttendeeDto>? Attendees { get; init; }

    public string? Transcript { get; init; }

    public static MeetingFields From(Meeting m)
    {
        var dto = MeetingDto.From(m);
        return new()
        {
            Title = m.Title,
            Description = m.Description,
            StartsAt = m.StartsAt,
            EndsAt = m.EndsAt,
            Location = m.Location,
            CompanyId = m.CompanyId,
            DealId = m.DealId,
            Attendees = [.. dto.Attendees],
            Transcript = m.Transcripts.FirstOrDefault(t => t.DeletedAt == null && t.Source == ActivitySource.Manual)?.Content,
        };
    }

    public void ApplyTo(Meeting meeting, WriteStamp stamp)
    {
        meeting.Title = Title!.Trim();
        meeting.Description = Description;
        meeting.StartsAt = StartsAt!.Value;
        meeting.EndsAt = EndsAt ?? StartsAt!.Value;
        meeting.Location = Location?.Trim();
        meeting.CompanyId = CompanyId;
        meeting.DealId = DealId;

        var wanted = (Attendees ?? []).ToDictionary(a => a.Email.Trim().ToLowerInvariant(), StringComparer.Ordinal);
        foreach (var attendee in meeting.Attendees.Where(a => a.DeletedAt == null))
        {
            if (wanted.Remove(attendee.Email, out var update))
            {
                if (attendee.Name != update.Name || attendee.ContactId != update.ContactId || attendee.MemberId != update.MemberId)
                {
                    (attendee.Name, attendee.ContactId, attendee.MemberId) = (update.Name, update.ContactId, update.MemberId);
                    stamp.Touch(attendee);
                }
            }
            else
            {
                (attendee.DeletedAt, attendee.UpdatedAt, attendee.UpdatedBy) = (stamp.Now, stamp.Now, stamp.Actor);
            }
        }

        foreach (var (email, added) in wanted)
        {
            meeting.Attendees.Add(stamp.Stamp(new MeetingAttendee
            {
                MeetingId = meeting.Id,
                Email = email,
                Name = added.Name,
                ContactId = added.ContactId,
                MemberId = added.MemberId,
            }));
        }

        var manual = meeting.Transcripts.FirstOrDefault(t => t.DeletedAt == null && t.Source == ActivitySource.Manual);
        if (string.IsNullOrEmpty(Transcript))
        {
            if (manual is not null)
            {
                (manual.DeletedAt, manual.UpdatedAt, manual.UpdatedBy) = (stamp.Now, stamp.Now, stamp.Actor);
            }
        }
        else if (manual is null)
        {
            var transcript = new MeetingTranscript { MeetingId = meeting.Id, Source = ActivitySource.Manual, Content = Transcript };
            meeting.Transcripts.Add(stamp.Stamp(transcript));
        }
        else if (manual.Content != Transcript)
        {
            (manual.Content, manual.UpdatedAt, manual.UpdatedBy) = (Transcript, stamp.Now, stamp.Actor);
        }
    }
}

public sealed class MeetingFieldsValidator : AbstractValidator<MeetingFields>
{
    public MeetingFieldsValidator()
    {
        this.AddScheduleRules();
        RuleFor(x => x.CompanyId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.DealId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.Transcript).MaximumLength(MeetingFields.MaxTranscriptLength)
            .WithMessage($"must be at most {MeetingFields.MaxTranscriptLength:N0} characters.");
        RuleFor(x => x.Attendees).Must(a => a is null || a.Count <= 200).WithMessage("may hold at most 200 attendees.")
            .Must(a => a is null || a.Select(x => x.Email?.Trim().ToLowerInvariant()).Distinct(StringComparer.Ordinal).Count() == a.Count)
            .WithMessage("must not list an email twice.");
        RuleForEach(x => x.Attendees).ChildRules(attendee =>
        {
            attendee.RuleFor(a => a.Email).NotEmpty().WithMessage("is required.")
                .MaximumLength(254).WithMessage("must be at most 254 characters.")
                .EmailAddress().WithMessage("must be an email address such as ada@example.com.");
            attendee.RuleFor(a => a.Name).MaximumLength(200).WithMessage("must be at most 200 characters.");
        });
    }
}
