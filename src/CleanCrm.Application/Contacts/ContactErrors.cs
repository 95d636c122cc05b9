using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;

namespace CleanCrm.Application.Contacts;

internal static class ContactErrors
{
    public const string EmailIndex = "ux_contacts_email_live";

    public static Error NotFound(Guid id) => Error.NotFound("Contact", id);

    public static Error EmailTaken(string? email) => new(ErrorType.Conflict, ErrorCodes.DuplicateValue, $"A contact with email '{email}' already exists.")
    {
        Errors = new Dictionary<string, string[]> { ["email"] = ["is already used by another contact."] },
    };

    public static Error? FromConstraint(ConstraintViolationException exception, string? email) => exception switch
    {
        { Kind: ConstraintKind.Unique, ConstraintName: EmailIndex } => EmailTaken(email),
        { Kind: ConstraintKind.ForeignKey } => Error.Validation("companyId", "companyId does not name a live company of this organization."),
        _ => null,
    };
}
