using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;

namespace CleanCrm.Application.Contacts;

internal static class ContactErrors
{
    public const string EmailIndex = "ux_contacts_email_live";

    public static Error EmailTaken(string? email) =>
        new(ErrorType.Conflict, ErrorCodes.DuplicateValue, $"A contact with email '{email}' already exists.")
        {
            Errors = new Dictionary<string, string[]> { ["email"] = ["is already used by another contact."] },
        };

    public static Error? FromConstraint(ConstraintViolationException exception, string? email) =>
        exception is { Kind: ConstraintKind.Unique, ConstraintName: EmailIndex } ? EmailTaken(email) : null;
}
