using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Tags.Queries.GetTag;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetTag(Guid Id) : IQuery<Result<TagDto>>, IOrgScopedRequest, IRecordRequest;

public sealed class GetTagHandler(ITenantDbContext db)
    : GetRecordHandler<GetTag, Tag, TagFields, TagDto>(db, TagRecord.Type);
