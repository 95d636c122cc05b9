using Hangfire.Dashboard;

namespace CleanCrm.Api.Security;

/// <summary>The Hangfire dashboard (/admin/jobs) is for platform admins only.</summary>
public sealed class PlatformAdminDashboardFilter : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context) =>
        context.GetHttpContext().User.HasClaim(CleanCrmClaims.PlatformAdmin, "true");
}
