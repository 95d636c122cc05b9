using CleanCrm.Application.Common.Crm;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Notes;

/// <summary>How notes are written and read by the shared record handlers.</summary>
internal static class NoteRecord
{
    public static readonly CrmRecordType<Note, NoteFields, NoteDto> Type = new()
    {
        Resource = "Note",
        Rows = db => db.Notes,
        New = fields => new Note { Body = fields.Body! },
        Read = NoteFields.From,
        Validator = new NoteFieldsValidator(),
        Check = (db, fields, current, ct) => AttachmentRules.CheckAsync(db, fields, current, ct),
        Apply = (fields, note, _) => fields.ApplyTo(note),
        ToDto = NoteDto.From,
    };
}
