using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Tasks.Commands.UpdateTask;

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateTask(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<TaskDto>>, IOrgScopedRequest, IUpdateRecord;

public sealed class UpdateTaskHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : UpdateRecordHandler<UpdateTask, CrmTask, TaskFields, TaskDto>(db, caller, clock, TaskRecord.Type);
