using System.Security.Claims;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Console.Security;

/// <summary>
/// The caller of a console request: the signed-in admin of the cookie session (<c>sub</c>, <c>platform_admin</c>).
/// The cookie check sets <see cref="Principal"/> before the request has a user.
/// </summary>
public sealed class ConsoleCallerContext(IHttpContextAccessor accessor) : ICallerContext
{
    public ClaimsPrincipal? Principal { get; set; }

    private ClaimsPrincipal? User =>
        (Principal ?? accessor.HttpContext?.User) is { Identity.IsAuthenticated: true } user ? user : null;

    public Guid? UserId => Guid.TryParse(User?.FindFirstValue(ConsoleAuthentication.SubjectClaim), out var id) ? id : null;

    public OrgRole? Role => null;

    public bool IsPlatformAdmin => User?.HasClaim(ConsoleAuthentication.PlatformAdminClaim, "true") == true;

    public bool IsSystem => false;

    public string? Email => User?.FindFirstValue("email");

    public string? Name => User?.FindFirstValue("name");
}
