using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Activities.Commands.UpdateActivity;

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateActivity(Guid Id, JsonElement Patch, uint? IfMatch)
    : ICommand<Result<ActivityDto>>, IOrgScopedRequest, IUpdateRecord;

public sealed class UpdateActivityHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : UpdateRecordHandler<UpdateActivity, CrmActivity, ActivityFields, ActivityDto>(db, caller, clock, ActivityRecord.Type);
