using System.Security.Claims;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Api.Security;

/// <summary>The caller of the current HTTP request; the org middleware fills in the role once per request.</summary>
/// <remarks>The claims are read once per principal (several middlewares and behaviors ask on every request).</remarks>
public sealed class HttpCallerContext(IHttpContextAccessor accessor) : ICallerContext
{
    private ClaimsPrincipal? _readFrom;
    private Guid? _userId;
    private Guid? _orgClaim;
    private bool _platformAdmin;

    public Guid? UserId => Read()._userId;

    public OrgRole? Role { get; set; }

    public bool IsPlatformAdmin => Read()._platformAdmin;

    public bool IsSystem => false;

    /// <summary>The org an org-bound API client's token is restricted to (docs/SECURITY.md, "Clients and flows").</summary>
    public Guid? OrgClaim => Read()._orgClaim;

    private HttpCallerContext Read()
    {
        var principal = accessor.HttpContext?.User is { Identity.IsAuthenticated: true } user ? user : null;
        if (!ReferenceEquals(principal, _readFrom))
        {
            _userId = Guid.TryParse(principal?.FindFirstValue(CleanCrmClaims.Subject), out var id) ? id : null;
            _orgClaim = Guid.TryParse(principal?.FindFirstValue(CleanCrmClaims.Organization), out var org) ? org : null;
            _platformAdmin = principal?.HasClaim(CleanCrmClaims.PlatformAdmin, "true") == true;
            _readFrom = principal;
        }

        return this;
    }
}

public static class CleanCrmClaims
{
    public const string Subject = "sub";
    public const string Organization = "org_id";
    public const string OrganizationRole = "org_role";
    public const string PlatformAdmin = "platform_admin";
    public const string SecurityStamp = "security_stamp";
}
