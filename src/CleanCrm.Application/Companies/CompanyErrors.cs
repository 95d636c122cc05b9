using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;

namespace CleanCrm.Application.Companies;

internal static class CompanyErrors
{
    public const string DomainIndex = "ux_companies_domain_live";

    public static Error DomainTaken(string? domain) =>
        new(ErrorType.Conflict, ErrorCodes.DuplicateValue, $"A company with domain '{domain}' already exists.")
        {
            Errors = new Dictionary<string, string[]> { ["domain"] = ["is already used by another company."] },
        };

    public static Error? FromConstraint(ConstraintViolationException exception, string? domain) =>
        exception is { Kind: ConstraintKind.Unique, ConstraintName: DomainIndex } ? DomainTaken(domain) : null;
}
