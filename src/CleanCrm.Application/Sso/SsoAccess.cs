using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Sso;

/// <summary>
/// Who may configure an organization's identity provider: its owners, on the Enterprise plan. Another organization's slug
/// is 404 (as if it did not exist), a member who is not an owner 403, another plan 403 <c>feature_disabled</c>.
/// </summary>
public static class SsoAccess
{
    public static async Task<Result<Organization>> OwnedEnterpriseOrganizationAsync(
        ICatalogDbContext db, ICallerContext caller, string slug, CancellationToken cancellationToken)
    {
        var userId = caller.UserId!.Value;
        var row = await db.Memberships.AsNoTracking()
            .Where(m => m.UserId == userId && m.Organization!.Slug == slug && m.Organization.Status != OrganizationStatus.Deleted)
            .Select(m => new { m.Role, m.Organization })
            .FirstOrDefaultAsync(cancellationToken);
        if (row is null)
        {
            return Error.NotFound("Organization", slug);
        }

        if (row.Role != OrgRole.Owner)
        {
            return Error.Forbidden(ErrorCodes.Forbidden, "Only owners of the organization configure its identity provider.");
        }

        if (row.Organization!.PlanKey != Plan.Enterprise)
        {
            return Error.Forbidden(ErrorCodes.FeatureDisabled,
                $"Enterprise SSO is included in the Enterprise plan; this organization is on the '{row.Organization.PlanKey}' plan.");
        }

        return row.Organization!;
    }

    public static string SignInPath(Guid providerId) => $"/account/sso/{providerId}/start";
}

/// <summary>An organization's identity provider as its owners see it; the client secret is write-only.</summary>
/// <param name="ClientSecretSet">True when a secret is stored (it is never returned).</param>
/// <param name="SignInPath">Where the sign-in page sends this provider's users.</param>
public sealed record SsoConfigurationDto(
    Guid ProviderId,
    string DisplayName,
    string Issuer,
    string ClientId,
    bool ClientSecretSet,
    IReadOnlyList<string> AllowedDomains,
    bool Enforce,
    bool JitProvisioning,
    string DefaultRole,
    string SignInPath,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static SsoConfigurationDto From(OrganizationIdentityProvider provider, bool secretSet) =>
        new(provider.Id, provider.DisplayName, provider.Issuer, provider.ClientId, secretSet,
            [.. provider.Domains.Select(d => d.Domain).Order(StringComparer.Ordinal)], provider.Enforce, provider.JitProvisioning,
            provider.DefaultRole.ToString().ToLowerInvariant(), SsoAccess.SignInPath(provider.Id), provider.CreatedAt,
            provider.UpdatedAt);
}
