using System.Security.Claims;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Api.Security;

/// <summary>The caller of the current HTTP request; the org middleware fills in the role once per request.</summary>
public sealed class HttpCallerContext(IHttpContextAccessor accessor) : ICallerContext
{
    public Guid? UserId => Guid.TryParse(Principal?.FindFirstValue(CleanCrmClaims.Subject), out var id) ? id : null;

    public OrgRole? Role { get; set; }

    public bool IsPlatformAdmin => Principal?.HasClaim(CleanCrmClaims.PlatformAdmin, "true") == true;

    public bool IsSystem => false;

    /// <summary>The org an org-bound client's token is restricted to (SPEC §4.3 rule 1).</summary>
    public Guid? OrgClaim => Guid.TryParse(Principal?.FindFirstValue(CleanCrmClaims.Organization), out var id) ? id : null;

    private ClaimsPrincipal? Principal => accessor.HttpContext?.User is { Identity.IsAuthenticated: true } user ? user : null;
}

public static class CleanCrmClaims
{
    public const string Subject = "sub";
    public const string Organization = "org_id";
    public const string OrganizationRole = "org_role";
    public const string PlatformAdmin = "platform_admin";
    public const string SecurityStamp = "security_stamp";
}
