using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Notes.Queries.ListNotes;

[RequiresPermission(Permission.CrmRead)]
public sealed record ListNotes(
    int? Limit = null,
    string? Cursor = null,
    string? Sort = null,
    string? Q = null,
    bool? Pinned = null,
    Guid? CompanyId = null,
    Guid? ContactId = null,
    Guid? DealId = null,
    DateTimeOffset? CreatedAfter = null,
    DateTimeOffset? CreatedBefore = null) : IQuery<Result<Page<NoteDto>>>, IOrgScopedRequest, IListQuery;

public sealed class ListNotesValidator() : ListQueryValidator<ListNotes, Note>(ListNotesHandler.Sorts);

public sealed class ListNotesHandler(ITenantDbContext db) : IQueryHandler<ListNotes, Result<Page<NoteDto>>>
{
    public static readonly SortKeys<Note> Sorts = new(
        "-createdAt",
        SortKey<Note>.Time("createdAt", n => n.CreatedAt),
        SortKey<Note>.Time("updatedAt", n => n.UpdatedAt));

    public async ValueTask<Result<Page<NoteDto>>> Handle(ListNotes query, CancellationToken cancellationToken)
    {
        var notes = db.Notes.Where(n => n.DeletedAt == null)
            .AttachedTo(query.CompanyId, query.ContactId, query.DealId)
            .Search(query.Q, text => n => n.Body.ToLower().Contains(text))
            .WhereIf(query.Pinned, pinned => n => n.Pinned == pinned)
            .CreatedBetween(query.CreatedAfter, query.CreatedBefore);
        return await Sorts.PageAsync(notes, query, NoteDto.From, cancellationToken);
    }
}
