using System.Text.Json;
using System.Text.Json.Serialization;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Meetings;

public sealed record MeetingAttendeeDto(string Email, string? Name, Guid? ContactId, Guid? MemberId);

public sealed record MeetingDto(
    Guid Id,
    string Title,
    string? Description,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    string? Location,
    Guid? CompanyId,
    Guid? DealId,
    IReadOnlyList<MeetingAttendeeDto> Attendees,
    string? Transcript,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static MeetingDto From(Meeting m) => new(
        m.Id,
        m.Title,
        m.Description,
        m.StartsAt,
        m.EndsAt,
        m.Location,
        m.CompanyId,
        m.DealId,
        [.. m.Attendees.Where(a => a.DeletedAt == null).OrderBy(a => a.Email, StringComparer.Ordinal).Select(a => new MeetingAttendeeDto(a.Email, a.Name, a.ContactId, a.MemberId))],
        m.Transcripts.Where(t => t.DeletedAt == null).OrderBy(t => t.Source).Select(t => t.Content).FirstOrDefault(),
        m.CreatedAt,
        m.UpdatedAt)
    {
        Version = m.Version,
    };
}

/// <summary>Writable fields; <c>attendees</c> replaces the list, <c>transcript</c> is the manually entered transcript.</summary>
public sealed record MeetingFields
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
            Title = m.Title, Description = m.Description, StartsAt = m.StartsAt, EndsAt = m.EndsAt, Location = m.Location, CompanyId = m.CompanyId, DealId = m.DealId,
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
                    (attendee.Name, attendee.ContactId, attendee.MemberId, attendee.UpdatedAt, attendee.UpdatedBy) = (update.Name, update.ContactId, update.MemberId, stamp.Now, stamp.Actor);
                }
            }
            else
            {
                (attendee.DeletedAt, attendee.UpdatedAt, attendee.UpdatedBy) = (stamp.Now, stamp.Now, stamp.Actor);
            }
        }

        foreach (var (email, added) in wanted)
        {
            meeting.Attendees.Add(stamp.Stamp(new MeetingAttendee { MeetingId = meeting.Id, Email = email, Name = added.Name, ContactId = added.ContactId, MemberId = added.MemberId }));
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
            meeting.Transcripts.Add(stamp.Stamp(new MeetingTranscript { MeetingId = meeting.Id, Source = ActivitySource.Manual, Content = Transcript }));
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
        RuleFor(x => x.Title).NotEmpty().WithMessage("is required.").MaximumLength(300).WithMessage("must be at most 300 characters.");
        RuleFor(x => x.Description).MaximumLength(20_000).WithMessage("must be at most 20,000 characters.");
        RuleFor(x => x.StartsAt).NotNull().WithMessage("is required.");
        RuleFor(x => x.EndsAt).Must((m, end) => end is null || m.StartsAt is null || end >= m.StartsAt).WithMessage("must not be before startsAt.");
        RuleFor(x => x.Location).MaximumLength(500).WithMessage("must be at most 500 characters.");
        RuleFor(x => x.CompanyId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.DealId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.Transcript).MaximumLength(MeetingFields.MaxTranscriptLength).WithMessage($"must be at most {MeetingFields.MaxTranscriptLength:N0} characters.");
        RuleFor(x => x.Attendees).Must(a => a is null || a.Count <= 200).WithMessage("may hold at most 200 attendees.")
            .Must(a => a is null || a.Select(x => x.Email?.Trim().ToLowerInvariant()).Distinct(StringComparer.Ordinal).Count() == a.Count).WithMessage("must not list an email twice.");
        RuleForEach(x => x.Attendees).ChildRules(attendee =>
        {
            attendee.RuleFor(a => a.Email).NotEmpty().WithMessage("is required.").MaximumLength(254).WithMessage("must be at most 254 characters.")
                .EmailAddress().WithMessage("must be an email address such as ada@example.com.");
            attendee.RuleFor(a => a.Name).MaximumLength(200).WithMessage("must be at most 200 characters.");
        });
    }
}

internal static class MeetingWrites
{
    public static RecordWrites<Meeting, MeetingFields> For(ITenantDbContext db) => new(
        "Meeting",
        MeetingFields.From,
        new MeetingFieldsValidator(),
        async (fields, current, ct) =>
        {
            if ((fields.CompanyId != current?.CompanyId ? await CrmReferences.CheckCompanyAsync(db, fields.CompanyId, "companyId", ct) : null) is { } company)
            {
                return company;
            }

            if ((fields.DealId != current?.DealId ? await CrmReferences.CheckDealAsync(db, fields.DealId, "dealId", ct) : null) is { } deal)
            {
                return deal;
            }

            foreach (var (attendee, i) in (fields.Attendees ?? []).Select((a, i) => (a, i)))
            {
                if ((await CrmReferences.CheckContactAsync(db, attendee.ContactId, $"attendees[{i}].contactId", ct) ?? await CrmReferences.CheckMemberAsync(db, attendee.MemberId, $"attendees[{i}].memberId", ct)) is { } error)
                {
                    return error;
                }
            }

            return null;
        },
        (fields, meeting, stamp) => fields.ApplyTo(meeting, stamp));

    public static IQueryable<Meeting> WithChildren(ITenantDbContext db) =>
        db.Meetings.Include(m => m.Attendees.Where(a => a.DeletedAt == null)).Include(m => m.Transcripts.Where(t => t.DeletedAt == null));
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateMeeting(MeetingFields Fields) : ICommand<Result<MeetingDto>>, IOrgScopedRequest;

public sealed class CreateMeetingValidator : AbstractValidator<CreateMeeting>
{
    public CreateMeetingValidator() => RuleFor(x => x.Fields).SetValidator(new MeetingFieldsValidator());
}

public sealed class CreateMeetingHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<CreateMeeting, Result<MeetingDto>>
{
    public async ValueTask<Result<MeetingDto>> Handle(CreateMeeting command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.CreateAsync(db, db.Meetings, command.Fields, new Meeting { Title = command.Fields.Title! }, MeetingWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? MeetingDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateMeeting(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<MeetingDto>>, IOrgScopedRequest;

public sealed class UpdateMeetingHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<UpdateMeeting, Result<MeetingDto>>
{
    public async ValueTask<Result<MeetingDto>> Handle(UpdateMeeting command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.PatchAsync(db, MeetingWrites.WithChildren(db), command.Id, command.Patch, command.IfMatch, MeetingWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? MeetingDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteMeeting(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteMeetingHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<DeleteMeeting, Result<Unit>>
{
    public ValueTask<Result<Unit>> Handle(DeleteMeeting command, CancellationToken cancellationToken) =>
        CrmRecords.SoftDeleteAsync(db, db.Meetings, command.Id, command.IfMatch, "Meeting", caller, clock, cancellationToken);
}

[RequiresPermission(Permission.CrmRead)]
public sealed record GetMeeting(Guid Id) : IQuery<Result<MeetingDto>>, IOrgScopedRequest;

public sealed class GetMeetingHandler(ITenantDbContext db) : IQueryHandler<GetMeeting, Result<MeetingDto>>
{
    public async ValueTask<Result<MeetingDto>> Handle(GetMeeting query, CancellationToken cancellationToken)
    {
        var meeting = await MeetingWrites.WithChildren(db).AsNoTracking().FirstOrDefaultAsync(m => m.Id == query.Id && m.DeletedAt == null, cancellationToken);
        return meeting is null ? Error.NotFound("Meeting", query.Id) : MeetingDto.From(meeting);
    }
}

[RequiresPermission(Permission.CrmRead)]
public sealed record ListMeetings(
    int? Limit = null,
    string? Cursor = null,
    string? Sort = null,
    string? Q = null,
    Guid? CompanyId = null,
    Guid? DealId = null,
    Guid? ContactId = null,
    DateTimeOffset? StartsAfter = null,
    DateTimeOffset? StartsBefore = null) : IQuery<Result<Page<MeetingDto>>>, IOrgScopedRequest, IListQuery;

public sealed class ListMeetingsValidator : ListQueryValidator<ListMeetings, Meeting>
{
    public ListMeetingsValidator()
        : base(ListMeetingsHandler.Sorts)
    {
    }
}

public sealed class ListMeetingsHandler(ITenantDbContext db) : IQueryHandler<ListMeetings, Result<Page<MeetingDto>>>
{
    public static readonly SortKeys<Meeting> Sorts = new(
        "-startsAt",
        SortKey<Meeting>.Time("startsAt", m => m.StartsAt),
        SortKey<Meeting>.Text("title", m => m.Title),
        SortKey<Meeting>.Time("createdAt", m => m.CreatedAt),
        SortKey<Meeting>.Time("updatedAt", m => m.UpdatedAt));

    public async ValueTask<Result<Page<MeetingDto>>> Handle(ListMeetings query, CancellationToken cancellationToken)
    {
        var meetings = MeetingWrites.WithChildren(db).Where(m => m.DeletedAt == null);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var text = query.Q.Trim().ToLowerInvariant();
            meetings = meetings.Where(m => m.Title.ToLower().Contains(text) || (m.Description ?? string.Empty).ToLower().Contains(text));
        }

        if (query.CompanyId is { } companyId)
        {
            meetings = meetings.Where(m => m.CompanyId == companyId);
        }

        if (query.DealId is { } dealId)
        {
            meetings = meetings.Where(m => m.DealId == dealId);
        }

        if (query.ContactId is { } contactId)
        {
            meetings = meetings.Where(m => m.Attendees.Any(a => a.ContactId == contactId && a.DeletedAt == null));
        }

        if (query.StartsAfter is { } after)
        {
            meetings = meetings.Where(m => m.StartsAt >= after);
        }

        if (query.StartsBefore is { } before)
        {
            meetings = meetings.Where(m => m.StartsAt < before);
        }

        return await Sorts.PageAsync(meetings, query, MeetingDto.From, cancellationToken);
    }
}
