using System.Diagnostics;
using CleanCrm.Api.Security;
using Serilog;
using Serilog.Context;

namespace CleanCrm.Api.Infrastructure;

/// <summary>
/// Adds the user id to every log event, trace and request log line (never bodies or tokens); the org id is added by org resolution.
/// </summary>
public sealed class RequestLogContextMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, HttpCallerContext caller, IDiagnosticContext diagnostics)
    {
        var userId = caller.UserId;
        Activity.Current?.SetTag("enduser.id", userId);
        diagnostics.Set("UserId", userId);
        using (LogContext.PushProperty("UserId", userId))
        {
            await next(context);
        }
    }
}
