using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Notes.Commands.UpdateNote;

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateNote(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<NoteDto>>, IOrgScopedRequest, IUpdateRecord;

public sealed class UpdateNoteHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : UpdateRecordHandler<UpdateNote, Note, NoteFields, NoteDto>(db, caller, clock, NoteRecord.Type);
