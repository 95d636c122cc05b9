using System.Text.Json;
using CleanCrm.Application.Common.Validation;
using CleanCrm.Domain.Tenant;
using FluentValidation;

namespace CleanCrm.Application.Contacts;

/// <summary>The writable fields of a contact: the body of a create, and the document a merge patch is applied to.</summary>
public sealed record ContactFields
{
    public string? FirstName { get; init; }

    public string? LastName { get; init; }

    public string? Email { get; init; }

    public string? Phone { get; init; }

    public string? JobTitle { get; init; }

    public Guid? CompanyId { get; init; }

    public string? Source { get; init; }

    public Guid? OwnerId { get; init; }

    public Dictionary<string, JsonElement>? CustomFields { get; init; }

    /// <summary>Emails are compared case-insensitively, so they are stored trimmed and lower-cased.</summary>
    public string? NormalizedEmail => string.IsNullOrWhiteSpace(Email) ? null : Email.Trim().ToLowerInvariant();

    public static ContactFields From(Contact contact) => new()
    {
        FirstName = contact.FirstName,
        LastName = contact.LastName,
        Email = contact.Email,
        Phone = contact.Phone,
        JobTitle = contact.JobTitle,
        CompanyId = contact.CompanyId,
        Source = contact.Source,
        OwnerId = contact.OwnerId,
        CustomFields = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(contact.CustomFields),
    };

    public void ApplyTo(Contact contact)
    {
        contact.FirstName = FirstName?.Trim();
        contact.LastName = LastName?.Trim();
        contact.Email = NormalizedEmail;
        contact.Phone = Phone?.Trim();
        contact.JobTitle = JobTitle?.Trim();
        contact.CompanyId = CompanyId;
        contact.Source = Source?.Trim();
        contact.OwnerId = OwnerId;
        contact.CustomFields = JsonSerializer.Serialize(CustomFields ?? []);
    }
}

public sealed class ContactFieldsValidator : AbstractValidator<ContactFields>
{
    public ContactFieldsValidator()
    {
        RuleFor(x => x)
            .Must(x => !string.IsNullOrWhiteSpace(x.FirstName)
                       || !string.IsNullOrWhiteSpace(x.LastName)
                       || !string.IsNullOrWhiteSpace(x.Email))
            .WithName("firstName")
            .OverridePropertyName("firstName")
            .WithMessage("a contact needs at least one of firstName, lastName or email.");
        RuleFor(x => x.FirstName).MaximumLength(100).WithMessage("must be at most 100 characters.");
        RuleFor(x => x.LastName).MaximumLength(100).WithMessage("must be at most 100 characters.");
        RuleFor(x => x.Email).MaximumLength(254).WithMessage("must be at most 254 characters.")
            .EmailAddress().WithMessage("must be an email address such as ada@example.com.");
        RuleFor(x => x.Phone).MustBePhone();
        RuleFor(x => x.JobTitle).MaximumLength(150).WithMessage("must be at most 150 characters.");
        RuleFor(x => x.Source).MaximumLength(100).WithMessage("must be at most 100 characters.");
        RuleFor(x => x.CompanyId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.OwnerId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.CustomFields).MustBeCustomFields();
    }
}
