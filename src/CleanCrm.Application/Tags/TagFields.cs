using System.Text.RegularExpressions;
using CleanCrm.Domain.Tenant;
using FluentValidation;

namespace CleanCrm.Application.Tags;

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
