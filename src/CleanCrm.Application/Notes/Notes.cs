using System.Text.Json;
using System.Text.Json.Serialization;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Notes;

public sealed record NoteDto(Guid Id, string Body, bool Pinned, Guid? CompanyId, Guid? ContactId, Guid? DealId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static NoteDto From(Note n) => new(n.Id, n.Body, n.Pinned, n.CompanyId, n.ContactId, n.DealId, n.CreatedAt, n.UpdatedAt) { Version = n.Version };
}

public sealed record NoteFields : IAttachmentFields
{
    public string? Body { get; init; }

    public bool? Pinned { get; init; }

    public Guid? CompanyId { get; init; }

    public Guid? ContactId { get; init; }

    public Guid? DealId { get; init; }

    public static NoteFields From(Note n) => new() { Body = n.Body, Pinned = n.Pinned, CompanyId = n.CompanyId, ContactId = n.ContactId, DealId = n.DealId };

    public void ApplyTo(Note note)
    {
        note.Body = Body!;
        note.Pinned = Pinned ?? false;
        this.ApplyTo((AttachedEntity)note);
    }
}

public sealed class NoteFieldsValidator : AbstractValidator<NoteFields>
{
    public NoteFieldsValidator()
    {
        RuleFor(x => x.Body).NotEmpty().WithMessage("is required.").MaximumLength(100_000).WithMessage("must be at most 100,000 characters.");
        this.AddAttachmentRules();
    }
}

internal static class NoteWrites
{
    public static RecordWrites<Note, NoteFields> For(ITenantDbContext db) => new(
        "Note",
        NoteFields.From,
        new NoteFieldsValidator(),
        (fields, current, ct) => AttachmentRules.CheckAsync(db, fields, current, ct),
        (fields, note, _) => fields.ApplyTo(note));
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateNote(NoteFields Fields) : ICommand<Result<NoteDto>>, IOrgScopedRequest;

public sealed class CreateNoteValidator : AbstractValidator<CreateNote>
{
    public CreateNoteValidator() => RuleFor(x => x.Fields).SetValidator(new NoteFieldsValidator());
}

public sealed class CreateNoteHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<CreateNote, Result<NoteDto>>
{
    public async ValueTask<Result<NoteDto>> Handle(CreateNote command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.CreateAsync(db, db.Notes, command.Fields, new Note { Body = command.Fields.Body! }, NoteWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? NoteDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateNote(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<NoteDto>>, IOrgScopedRequest;

public sealed class UpdateNoteHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<UpdateNote, Result<NoteDto>>
{
    public async ValueTask<Result<NoteDto>> Handle(UpdateNote command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.PatchAsync(db, db.Notes, command.Id, command.Patch, command.IfMatch, NoteWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? NoteDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteNote(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteNoteHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<DeleteNote, Result<Unit>>
{
    public ValueTask<Result<Unit>> Handle(DeleteNote command, CancellationToken cancellationToken) =>
        CrmRecords.SoftDeleteAsync(db, db.Notes, command.Id, command.IfMatch, "Note", caller, clock, cancellationToken);
}

[RequiresPermission(Permission.CrmRead)]
public sealed record GetNote(Guid Id) : IQuery<Result<NoteDto>>, IOrgScopedRequest;

public sealed class GetNoteHandler(ITenantDbContext db) : IQueryHandler<GetNote, Result<NoteDto>>
{
    public async ValueTask<Result<NoteDto>> Handle(GetNote query, CancellationToken cancellationToken)
    {
        var note = await db.Notes.AsNoTracking().FirstOrDefaultAsync(n => n.Id == query.Id && n.DeletedAt == null, cancellationToken);
        return note is null ? Error.NotFound("Note", query.Id) : NoteDto.From(note);
    }
}

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

public sealed class ListNotesValidator : ListQueryValidator<ListNotes, Note>
{
    public ListNotesValidator()
        : base(ListNotesHandler.Sorts)
    {
    }
}

public sealed class ListNotesHandler(ITenantDbContext db) : IQueryHandler<ListNotes, Result<Page<NoteDto>>>
{
    public static readonly SortKeys<Note> Sorts = new(
        "-createdAt",
        SortKey<Note>.Time("createdAt", n => n.CreatedAt),
        SortKey<Note>.Time("updatedAt", n => n.UpdatedAt));

    public async ValueTask<Result<Page<NoteDto>>> Handle(ListNotes query, CancellationToken cancellationToken)
    {
        var notes = db.Notes.Where(n => n.DeletedAt == null).AttachedTo(query.CompanyId, query.ContactId, query.DealId);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var text = query.Q.Trim().ToLowerInvariant();
            notes = notes.Where(n => n.Body.ToLower().Contains(text));
        }

        if (query.Pinned is { } pinned)
        {
            notes = notes.Where(n => n.Pinned == pinned);
        }

        if (query.CreatedAfter is { } after)
        {
            notes = notes.Where(n => n.CreatedAt >= after);
        }

        if (query.CreatedBefore is { } before)
        {
            notes = notes.Where(n => n.CreatedAt < before);
        }

        return await Sorts.PageAsync(notes, query, NoteDto.From, cancellationToken);
    }
}
