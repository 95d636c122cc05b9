using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Notes.Queries.GetNote;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetNote(Guid Id) : IQuery<Result<NoteDto>>, IOrgScopedRequest, IRecordRequest;

public sealed class GetNoteHandler(ITenantDbContext db)
    : GetRecordHandler<GetNote, Note, NoteFields, NoteDto>(db, NoteRecord.Type);
