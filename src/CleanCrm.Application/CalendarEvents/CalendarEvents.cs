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

namespace CleanCrm.Application.CalendarEvents;

public sealed record CalendarEventDto(
    Guid Id,
    string Title,
    string? Description,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    bool AllDay,
    string? Location,
    Guid? OwnerId,
    Guid? MeetingId,
    Guid? CompanyId,
    Guid? ContactId,
    Guid? DealId,
    ActivitySource Source,
    string? ExternalId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static CalendarEventDto From(CalendarEvent e) =>
        new(e.Id, e.Title, e.Description, e.StartsAt, e.EndsAt, e.AllDay, e.Location, e.OwnerId, e.MeetingId, e.CompanyId, e.ContactId, e.DealId, e.Source, e.ExternalId, e.CreatedAt, e.UpdatedAt)
        {
            Version = e.Version,
        };
}

public sealed record CalendarEventFields
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
        Title = e.Title, Description = e.Description, StartsAt = e.StartsAt, EndsAt = e.EndsAt, AllDay = e.AllDay, Location = e.Location, OwnerId = e.OwnerId,
        MeetingId = e.MeetingId, CompanyId = e.CompanyId, ContactId = e.ContactId, DealId = e.DealId, Source = e.Source, ExternalId = e.ExternalId,
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
        RuleFor(x => x.Title).NotEmpty().WithMessage("is required.").MaximumLength(300).WithMessage("must be at most 300 characters.");
        RuleFor(x => x.Description).MaximumLength(20_000).WithMessage("must be at most 20,000 characters.");
        RuleFor(x => x.StartsAt).NotNull().WithMessage("is required.");
        RuleFor(x => x.EndsAt).Must((m, end) => end is null || m.StartsAt is null || end >= m.StartsAt).WithMessage("must not be before startsAt.");
        RuleFor(x => x.Location).MaximumLength(500).WithMessage("must be at most 500 characters.");
        RuleFor(x => x.ExternalId).MaximumLength(200).WithMessage("must be at most 200 characters.");
        RuleFor(x => x.OwnerId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.MeetingId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.CompanyId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.ContactId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.DealId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
    }
}

internal static class CalendarEventWrites
{
    public static RecordWrites<CalendarEvent, CalendarEventFields> For(ITenantDbContext db) => new(
        "Calendar event",
        CalendarEventFields.From,
        new CalendarEventFieldsValidator(),
        async (f, c, ct) =>
            (f.OwnerId != c?.OwnerId ? await CrmReferences.CheckOwnerAsync(db, f.OwnerId, ct) : null)
            ?? (f.MeetingId != c?.MeetingId ? await CrmReferences.CheckMeetingAsync(db, f.MeetingId, "meetingId", ct) : null)
            ?? (f.CompanyId != c?.CompanyId ? await CrmReferences.CheckCompanyAsync(db, f.CompanyId, "companyId", ct) : null)
            ?? (f.ContactId != c?.ContactId ? await CrmReferences.CheckContactAsync(db, f.ContactId, "contactId", ct) : null)
            ?? (f.DealId != c?.DealId ? await CrmReferences.CheckDealAsync(db, f.DealId, "dealId", ct) : null),
        (fields, e, _) => fields.ApplyTo(e))
    {
        Constraint = (exception, fields) => exception is { Kind: ConstraintKind.Unique, ConstraintName: "ux_calendar_events_external_live" }
            ? new Error(ErrorType.Conflict, ErrorCodes.DuplicateValue, $"A calendar event from source '{fields.Source}' with externalId '{fields.ExternalId}' already exists.")
            {
                Errors = new Dictionary<string, string[]> { ["externalId"] = ["is already used by another calendar event of this source."] },
            }
            : null,
    };
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateCalendarEvent(CalendarEventFields Fields) : ICommand<Result<CalendarEventDto>>, IOrgScopedRequest;

public sealed class CreateCalendarEventValidator : AbstractValidator<CreateCalendarEvent>
{
    public CreateCalendarEventValidator() => RuleFor(x => x.Fields).SetValidator(new CalendarEventFieldsValidator());
}

public sealed class CreateCalendarEventHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<CreateCalendarEvent, Result<CalendarEventDto>>
{
    public async ValueTask<Result<CalendarEventDto>> Handle(CreateCalendarEvent command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.CreateAsync(db, db.CalendarEvents, command.Fields, new CalendarEvent { Title = command.Fields.Title! }, CalendarEventWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? CalendarEventDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateCalendarEvent(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<CalendarEventDto>>, IOrgScopedRequest;

public sealed class UpdateCalendarEventHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<UpdateCalendarEvent, Result<CalendarEventDto>>
{
    public async ValueTask<Result<CalendarEventDto>> Handle(UpdateCalendarEvent command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.PatchAsync(db, db.CalendarEvents, command.Id, command.Patch, command.IfMatch, CalendarEventWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? CalendarEventDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteCalendarEvent(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteCalendarEventHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<DeleteCalendarEvent, Result<Unit>>
{
    public ValueTask<Result<Unit>> Handle(DeleteCalendarEvent command, CancellationToken cancellationToken) =>
        CrmRecords.SoftDeleteAsync(db, db.CalendarEvents, command.Id, command.IfMatch, "Calendar event", caller, clock, cancellationToken);
}

[RequiresPermission(Permission.CrmRead)]
public sealed record GetCalendarEvent(Guid Id) : IQuery<Result<CalendarEventDto>>, IOrgScopedRequest;

public sealed class GetCalendarEventHandler(ITenantDbContext db) : IQueryHandler<GetCalendarEvent, Result<CalendarEventDto>>
{
    public async ValueTask<Result<CalendarEventDto>> Handle(GetCalendarEvent query, CancellationToken cancellationToken)
    {
        var e = await db.CalendarEvents.AsNoTracking().FirstOrDefaultAsync(x => x.Id == query.Id && x.DeletedAt == null, cancellationToken);
        return e is null ? Error.NotFound("Calendar event", query.Id) : CalendarEventDto.From(e);
    }
}

[RequiresPermission(Permission.CrmRead)]
public sealed record ListCalendarEvents(
    int? Limit = null,
    string? Cursor = null,
    string? Sort = null,
    string? Q = null,
    Guid? OwnerId = null,
    Guid? MeetingId = null,
    Guid? CompanyId = null,
    Guid? ContactId = null,
    Guid? DealId = null,
    DateTimeOffset? StartsAfter = null,
    DateTimeOffset? StartsBefore = null) : IQuery<Result<Page<CalendarEventDto>>>, IOrgScopedRequest, IListQuery;

public sealed class ListCalendarEventsValidator : ListQueryValidator<ListCalendarEvents, CalendarEvent>
{
    public ListCalendarEventsValidator()
        : base(ListCalendarEventsHandler.Sorts)
    {
    }
}

public sealed class ListCalendarEventsHandler(ITenantDbContext db) : IQueryHandler<ListCalendarEvents, Result<Page<CalendarEventDto>>>
{
    public static readonly SortKeys<CalendarEvent> Sorts = new(
        "startsAt",
        SortKey<CalendarEvent>.Time("startsAt", e => e.StartsAt),
        SortKey<CalendarEvent>.Text("title", e => e.Title),
        SortKey<CalendarEvent>.Time("createdAt", e => e.CreatedAt),
        SortKey<CalendarEvent>.Time("updatedAt", e => e.UpdatedAt));

    public async ValueTask<Result<Page<CalendarEventDto>>> Handle(ListCalendarEvents query, CancellationToken cancellationToken)
    {
        var events = db.CalendarEvents.Where(e => e.DeletedAt == null);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var text = query.Q.Trim().ToLowerInvariant();
            events = events.Where(e => e.Title.ToLower().Contains(text) || (e.Location ?? string.Empty).ToLower().Contains(text));
        }

        if (query.OwnerId is { } ownerId)
        {
            events = events.Where(e => e.OwnerId == ownerId);
        }

        if (query.MeetingId is { } meetingId)
        {
            events = events.Where(e => e.MeetingId == meetingId);
        }

        if (query.CompanyId is { } companyId)
        {
            events = events.Where(e => e.CompanyId == companyId);
        }

        if (query.ContactId is { } contactId)
        {
            events = events.Where(e => e.ContactId == contactId);
        }

        if (query.DealId is { } dealId)
        {
            events = events.Where(e => e.DealId == dealId);
        }

        if (query.StartsAfter is { } after)
        {
            events = events.Where(e => e.StartsAt >= after);
        }

        if (query.StartsBefore is { } before)
        {
            events = events.Where(e => e.StartsAt < before);
        }

        return await Sorts.PageAsync(events, query, CalendarEventDto.From, cancellationToken);
    }
}
