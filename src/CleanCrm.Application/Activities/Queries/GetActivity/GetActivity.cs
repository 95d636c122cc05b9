using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Activities.Queries.GetActivity;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetActivity(Guid Id) : IQuery<Result<ActivityDto>>, IOrgScopedRequest, IRecordRequest;

public sealed class GetActivityHandler(ITenantDbContext db)
    : GetRecordHandler<GetActivity, CrmActivity, ActivityFields, ActivityDto>(db, ActivityRecord.Type);
