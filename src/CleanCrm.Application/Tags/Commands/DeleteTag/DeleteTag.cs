using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Tags.Commands.DeleteTag;

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteTag(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest, IDeleteRecord;

public sealed class DeleteTagHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : DeleteRecordHandler<DeleteTag, Tag>(db, caller, clock, TagRecord.Type);
