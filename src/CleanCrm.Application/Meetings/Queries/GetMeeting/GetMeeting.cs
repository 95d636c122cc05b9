using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Meetings.Queries.GetMeeting;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetMeeting(Guid Id) : IQuery<Result<MeetingDto>>, IOrgScopedRequest, IRecordRequest;

public sealed class GetMeetingHandler(ITenantDbContext db)
    : GetRecordHandler<GetMeeting, Meeting, MeetingFields, MeetingDto>(db, MeetingRecord.Type);
