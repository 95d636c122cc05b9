using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Tags.Commands.UpdateTag;

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateTag(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<TagDto>>, IOrgScopedRequest, IUpdateRecord;

public sealed class UpdateTagHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : UpdateRecordHandler<UpdateTag, Tag, TagFields, TagDto>(db, caller, clock, TagRecord.Type);
