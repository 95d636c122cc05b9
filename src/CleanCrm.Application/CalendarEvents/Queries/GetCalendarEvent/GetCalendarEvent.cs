using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.CalendarEvents.Queries.GetCalendarEvent;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetCalendarEvent(Guid Id) : IQuery<Result<CalendarEventDto>>, IOrgScopedRequest, IRecordRequest;

public sealed class GetCalendarEventHandler(ITenantDbContext db)
    : GetRecordHandler<GetCalendarEvent, CalendarEvent, CalendarEventFields, CalendarEventDto>(db, CalendarEventRecord.Type);
