using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Notes.Commands.DeleteNote;

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteNote(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest, IDeleteRecord;

public sealed class DeleteNoteHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : DeleteRecordHandler<DeleteNote, Note>(db, caller, clock, NoteRecord.Type);
