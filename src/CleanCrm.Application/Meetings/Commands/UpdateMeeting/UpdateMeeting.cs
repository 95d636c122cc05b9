using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Meetings.Commands.UpdateMeeting;

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateMeeting(Guid Id, JsonElement Patch, uint? IfMatch)
    : ICommand<Result<MeetingDto>>, IOrgScopedRequest, IUpdateRecord;

public sealed class UpdateMeetingHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : UpdateRecordHandler<UpdateMeeting, Meeting, MeetingFields, MeetingDto>(db, caller, clock, MeetingRecord.Type);
