using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Tasks.Queries.GetTask;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetTask(Guid Id) : IQuery<Result<TaskDto>>, IOrgScopedRequest, IRecordRequest;

public sealed class GetTaskHandler(ITenantDbContext db)
    : GetRecordHandler<GetTask, CrmTask, TaskFields, TaskDto>(db, TaskRecord.Type);
