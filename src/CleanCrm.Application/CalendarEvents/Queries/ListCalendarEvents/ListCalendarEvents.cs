using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.CalendarEvents.Queries.ListCalendarEvents;

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

public sealed class ListCalendarEventsValidator() : ListQueryValidator<ListCalendarEvents, CalendarEvent>(ListCalendarEventsHandler.Sorts);

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
        var events = db.CalendarEvents.Where(e => e.DeletedAt == null)
            .Search(query.Q, text => e => e.Title.ToLower().Contains(text) || (e.Location ?? string.Empty).ToLower().Contains(text))
            .WhereIf(query.OwnerId, ownerId => e => e.OwnerId == ownerId)
            .WhereIf(query.MeetingId, meetingId => e => e.MeetingId == meetingId)
            .WhereIf(query.CompanyId, companyId => e => e.CompanyId == companyId)
            .WhereIf(query.ContactId, contactId => e => e.ContactId == contactId)
            .WhereIf(query.DealId, dealId => e => e.DealId == dealId)
            .WhereIf(query.StartsAfter, after => e => e.StartsAt >= after)
            .WhereIf(query.StartsBefore, before => e => e.StartsAt < before);
        return await Sorts.PageAsync(events, query, CalendarEventDto.From, cancellationToken);
    }
}
