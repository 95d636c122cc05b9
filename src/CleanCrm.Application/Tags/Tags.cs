using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
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

namespace CleanCrm.Application.Tags;

public sealed record TagDto(Guid Id, string Name, string? Color, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static TagDto From(Tag t) => new(t.Id, t.Name, t.Color, t.CreatedAt, t.UpdatedAt) { Version = t.Version };
}

public sealed partial record TagFields
{
    public string? Name { get; init; }

    /// <summary>#rrggbb.</summary>
    public string? Color { get; init; }

    public static TagFields From(Tag t) => new() { Name = t.Name, Color = t.Color };

    public void ApplyTo(Tag tag)
    {
        tag.Name = Name!.Trim();
        tag.Color = Color?.ToLowerInvariant();
    }

    [GeneratedRegex("^#[0-9a-fA-F]{6}$", RegexOptions.CultureInvariant)]
    internal static partial Regex ColorPattern();
}

public sealed class TagFieldsValidator : AbstractValidator<TagFields>
{
    public TagFieldsValidator()
    {
        RuleFor(x => x.Name).NotEmpty().WithMessage("is required.").MaximumLength(50).WithMessage("must be at most 50 characters.");
        RuleFor(x => x.Color).Must(c => c is null || TagFields.ColorPattern().IsMatch(c)).WithMessage("must be a colour such as #1a2b3c.");
    }
}

internal static class TagWrites
{
    public static RecordWrites<Tag, TagFields> For(ITenantDbContext db) => new(
        "Tag",
        TagFields.From,
        new TagFieldsValidator(),
        async (fields, current, ct) =>
        {
            var name = fields.Name!.Trim().ToLowerInvariant();
            return await db.Tags.AnyAsync(t => t.Name.ToLower() == name && t.DeletedAt == null && t.Id != (current == null ? Guid.Empty : current.Id), ct)
                ? Taken(fields.Name)
                : null;
        },
        (fields, tag, _) => fields.ApplyTo(tag))
    {
        Constraint = (exception, fields) => exception is { Kind: ConstraintKind.Unique, ConstraintName: "ux_tags_name_live" } ? Taken(fields.Name) : null,
    };

    private static Error Taken(string? name) => new(ErrorType.Conflict, ErrorCodes.DuplicateValue, $"A tag named '{name}' already exists.")
    {
        Errors = new Dictionary<string, string[]> { ["name"] = ["is already used by another tag."] },
    };
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateTag(TagFields Fields) : ICommand<Result<TagDto>>, IOrgScopedRequest;

public sealed class CreateTagValidator : AbstractValidator<CreateTag>
{
    public CreateTagValidator() => RuleFor(x => x.Fields).SetValidator(new TagFieldsValidator());
}

public sealed class CreateTagHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<CreateTag, Result<TagDto>>
{
    public async ValueTask<Result<TagDto>> Handle(CreateTag command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.CreateAsync(db, db.Tags, command.Fields, new Tag { Name = command.Fields.Name! }, TagWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? TagDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateTag(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<TagDto>>, IOrgScopedRequest;

public sealed class UpdateTagHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<UpdateTag, Result<TagDto>>
{
    public async ValueTask<Result<TagDto>> Handle(UpdateTag command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.PatchAsync(db, db.Tags, command.Id, command.Patch, command.IfMatch, TagWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? TagDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteTag(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteTagHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<DeleteTag, Result<Unit>>
{
    public ValueTask<Result<Unit>> Handle(DeleteTag command, CancellationToken cancellationToken) =>
        CrmRecords.SoftDeleteAsync(db, db.Tags, command.Id, command.IfMatch, "Tag", caller, clock, cancellationToken);
}

[RequiresPermission(Permission.CrmRead)]
public sealed record GetTag(Guid Id) : IQuery<Result<TagDto>>, IOrgScopedRequest;

public sealed class GetTagHandler(ITenantDbContext db) : IQueryHandler<GetTag, Result<TagDto>>
{
    public async ValueTask<Result<TagDto>> Handle(GetTag query, CancellationToken cancellationToken)
    {
        var tag = await db.Tags.AsNoTracking().FirstOrDefaultAsync(t => t.Id == query.Id && t.DeletedAt == null, cancellationToken);
        return tag is null ? Error.NotFound("Tag", query.Id) : TagDto.From(tag);
    }
}

[RequiresPermission(Permission.CrmRead)]
public sealed record ListTags(int? Limit = null, string? Cursor = null, string? Sort = null, string? Q = null)
    : IQuery<Result<Page<TagDto>>>, IOrgScopedRequest, IListQuery;

public sealed class ListTagsValidator : ListQueryValidator<ListTags, Tag>
{
    public ListTagsValidator()
        : base(ListTagsHandler.Sorts)
    {
    }
}

public sealed class ListTagsHandler(ITenantDbContext db) : IQueryHandler<ListTags, Result<Page<TagDto>>>
{
    public static readonly SortKeys<Tag> Sorts = new(
        "name",
        SortKey<Tag>.Text("name", t => t.Name),
        SortKey<Tag>.Time("createdAt", t => t.CreatedAt));

    public async ValueTask<Result<Page<TagDto>>> Handle(ListTags query, CancellationToken cancellationToken)
    {
        var tags = db.Tags.Where(t => t.DeletedAt == null);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var text = query.Q.Trim().ToLowerInvariant();
            tags = tags.Where(t => t.Name.ToLower().Contains(text));
        }

        return await Sorts.PageAsync(tags, query, TagDto.From, cancellationToken);
    }
}
