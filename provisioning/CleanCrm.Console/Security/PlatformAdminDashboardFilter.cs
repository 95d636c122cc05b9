using Hangfire.Dashboard;

namespace CleanCrm.Console.Security;

/// <summary>The Hangfire dashboard (<c>/jobs</c>) is for platform admins only.</summary>
public sealed class PlatformAdminDashboardFilter : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context) =>
        context.GetHttpContext().User.HasClaim(ConsoleAuthentication.PlatformAdminClaim, "true");
}
