using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Notes.Commands.CreateNote;

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateNote(NoteFields Fields) : ICommand<Result<NoteDto>>, IOrgScopedRequest, ICreateRecord<NoteFields>;

public sealed class CreateNoteValidator() : CreateRecordValidator<CreateNote, NoteFields>(NoteRecord.Type.Validator);

public sealed class CreateNoteHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : CreateRecordHandler<CreateNote, Note, NoteFields, NoteDto>(db, caller, clock, NoteRecord.Type);
