using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Meetings.Queries.ListMeetings;

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

public sealed class ListMeetingsValidator() : ListQueryValidator<ListMeetings, Meeting>(ListMeetingsHandler.Sorts);

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
        var meetings = MeetingRecord.Type.Load(db).Where(m => m.DeletedAt == null)
            .Search(query.Q, text => m => m.Title.ToLower().Contains(text) || (m.Description ?? string.Empty).ToLower().Contains(text))
            .WhereIf(query.CompanyId, companyId => m => m.CompanyId == companyId)
            .WhereIf(query.DealId, dealId => m => m.DealId == dealId)
            .WhereIf(query.ContactId, contactId => m => m.Attendees.Any(a => a.ContactId == contactId && a.DeletedAt == null))
            .WhereIf(query.StartsAfter, after => m => m.StartsAt >= after)
            .WhereIf(query.StartsBefore, before => m => m.StartsAt < before);
        return await Sorts.PageAsync(meetings, query, MeetingDto.From, cancellationToken);
    }
}
