using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Tags;

/// <summary>How tags are written and read by the shared record handlers; a name is unique (any case) among live tags.</summary>
internal static class TagRecord
{
    public static readonly CrmRecordType<Tag, TagFields, TagDto> Type = new()
    {
        Resource = "Tag",
        Rows = db => db.Tags,
        New = fields => new Tag { Name = fields.Name! },
        Read = TagFields.From,
        Validator = new TagFieldsValidator(),
        Check = async (db, fields, current, ct) =>
        {
            var name = fields.Name!.Trim().ToLowerInvariant();
            var except = current?.Id ?? Guid.Empty;
            var taken = await db.Tags.AnyAsync(t => t.Name.ToLower() == name && t.DeletedAt == null && t.Id != except, ct);
            return taken ? Taken(fields.Name) : null;
        },
        Apply = (fields, tag, _) => fields.ApplyTo(tag),
        ToDto = TagDto.From,
        Unique = new("ux_tags_name_live", fields => Taken(fields.Name)),
    };

    private static Error Taken(string? name) =>
        CrmRecords.Duplicate("name", $"A tag named '{name}' already exists.", "is already used by another tag.");
}
