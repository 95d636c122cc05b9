using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Activities.Commands.DeleteActivity;

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteActivity(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest, IDeleteRecord;

public sealed class DeleteActivityHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : DeleteRecordHandler<DeleteActivity, CrmActivity>(db, caller, clock, ActivityRecord.Type);
