using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Activities.Commands.CreateActivity;

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateActivity(ActivityFields Fields)
    : ICommand<Result<ActivityDto>>, IOrgScopedRequest, ICreateRecord<ActivityFields>;

public sealed class CreateActivityValidator() : CreateRecordValidator<CreateActivity, ActivityFields>(ActivityRecord.Type.Validator);

public sealed class CreateActivityHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : CreateRecordHandler<CreateActivity, CrmActivity, ActivityFields, ActivityDto>(db, caller, clock, ActivityRecord.Type);
