using System.Diagnostics;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Api.Security;
using Serilog.Context;

namespace CleanCrm.Api.Infrastructure;

/// <summary>Adds user and org ids to every log event and trace of the request (never bodies or tokens).</summary>
public sealed class RequestLogContextMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, HttpCallerContext caller, ITenantContext tenant)
    {
        var userId = caller.UserId;
        var orgId = tenant.Current?.OrganizationId;
        Activity.Current?.SetTag("enduser.id", userId);
        Activity.Current?.SetTag("cleancrm.org_id", orgId);
        using (LogContext.PushProperty("UserId", userId))
        using (LogContext.PushProperty("OrgId", orgId))
        {
            await next(context);
        }
    }
}
