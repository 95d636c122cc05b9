using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Tags.Commands.CreateTag;

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateTag(TagFields Fields) : ICommand<Result<TagDto>>, IOrgScopedRequest, ICreateRecord<TagFields>;

public sealed class CreateTagValidator() : CreateRecordValidator<CreateTag, TagFields>(TagRecord.Type.Validator);

public sealed class CreateTagHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : CreateRecordHandler<CreateTag, Tag, TagFields, TagDto>(db, caller, clock, TagRecord.Type);
