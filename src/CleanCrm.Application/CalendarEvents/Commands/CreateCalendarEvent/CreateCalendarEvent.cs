using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.CalendarEvents.Commands.CreateCalendarEvent;

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateCalendarEvent(CalendarEventFields Fields)
    : ICommand<Result<CalendarEventDto>>, IOrgScopedRequest, ICreateRecord<CalendarEventFields>;

public sealed class CreateCalendarEventValidator()
    : CreateRecordValidator<CreateCalendarEvent, CalendarEventFields>(CalendarEventRecord.Type.Validator);

public sealed class CreateCalendarEventHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : CreateRecordHandler<CreateCalendarEvent, CalendarEvent, CalendarEventFields, CalendarEventDto>(
        db, caller, clock, CalendarEventRecord.Type);
