using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Tasks.Commands.CreateTask;

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateTask(TaskFields Fields) : ICommand<Result<TaskDto>>, IOrgScopedRequest, ICreateRecord<TaskFields>;

public sealed class CreateTaskValidator() : CreateRecordValidator<CreateTask, TaskFields>(TaskRecord.Type.Validator);

public sealed class CreateTaskHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : CreateRecordHandler<CreateTask, CrmTask, TaskFields, TaskDto>(db, caller, clock, TaskRecord.Type);
