using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Tasks.Commands.DeleteTask;

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteTask(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest, IDeleteRecord;

public sealed class DeleteTaskHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : DeleteRecordHandler<DeleteTask, CrmTask>(db, caller, clock, TaskRecord.Type);
