using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Organizations;

internal static class OrganizationErrors
{
    public static Error SlugTaken(string slug) => new(ErrorType.Conflict, ErrorCodes.SlugTaken, $"The slug '{slug}' is already taken.")
    {
        Errors = new Dictionary<string, string[]> { ["slug"] = ["is already taken."] },
    };

    // Same answer whoever owns the address, so signup does not reveal more than "taken".
    public static Error EmailTaken() => new(
        ErrorType.Conflict,
        ErrorCodes.EmailTaken,
        "This email address is already registered; sign in and create the organization from your account.")
    {
        Errors = new Dictionary<string, string[]> { ["ownerEmail"] = ["is already registered."] },
    };

    /// <summary>A platform-admin action that the organization's current status does not allow.</summary>
    public static Error CannotBe(Organization o, string action) => new(
        ErrorType.Conflict,
        ErrorCodes.Conflict,
        $"Organization '{o.Slug}' is {o.Status.ToString().ToLowerInvariant()} and cannot be {action}.");
}
