using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.CalendarEvents.Commands.UpdateCalendarEvent;

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateCalendarEvent(Guid Id, JsonElement Patch, uint? IfMatch)
    : ICommand<Result<CalendarEventDto>>, IOrgScopedRequest, IUpdateRecord;

public sealed class UpdateCalendarEventHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : UpdateRecordHandler<UpdateCalendarEvent, CalendarEvent, CalendarEventFields, CalendarEventDto>(
        db, caller, clock, CalendarEventRecord.Type);
