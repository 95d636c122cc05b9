using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Members;

/// <summary>Organization roles as the API spells them (lower case), and the rule that an organization keeps an owner.</summary>
internal static class MemberRoles
{
    public static string Name(OrgRole role) => role.ToString().ToLowerInvariant();

    public static bool TryParse(string? value, out OrgRole role)
    {
        role = default;
        return value is not null && value == value.ToLowerInvariant()
            && Enum.TryParse(value, ignoreCase: true, out role) && Enum.IsDefined(role);
    }

    public static Task<bool> HasAnotherOwnerAsync(
        ICatalogDbContext db, Guid organizationId, Guid userId, CancellationToken cancellationToken) =>
        db.Memberships.AnyAsync(
            m => m.OrganizationId == organizationId && m.Role == OrgRole.Owner && m.UserId != userId, cancellationToken);

    public static Error LastOwner() =>
        Error.Conflict(ErrorCodes.Conflict, "An organization always keeps at least one owner; promote another member first.");
}
