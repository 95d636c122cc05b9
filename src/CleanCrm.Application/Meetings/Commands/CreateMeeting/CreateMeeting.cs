using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Meetings.Commands.CreateMeeting;

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateMeeting(MeetingFields Fields) : ICommand<Result<MeetingDto>>, IOrgScopedRequest, ICreateRecord<MeetingFields>;

public sealed class CreateMeetingValidator() : CreateRecordValidator<CreateMeeting, MeetingFields>(MeetingRecord.Type.Validator);

public sealed class CreateMeetingHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : CreateRecordHandler<CreateMeeting, Meeting, MeetingFields, MeetingDto>(db, caller, clock, MeetingRecord.Type);
