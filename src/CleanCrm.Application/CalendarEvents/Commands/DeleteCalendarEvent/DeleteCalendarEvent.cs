using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.CalendarEvents.Commands.DeleteCalendarEvent;

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteCalendarEvent(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest, IDeleteRecord;

public sealed class DeleteCalendarEventHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : DeleteRecordHandler<DeleteCalendarEvent, CalendarEvent>(db, caller, clock, CalendarEventRecord.Type);
