using CleanCrm.Application.Common.Security;

namespace CleanCrm.Console.Security;

/// <summary>
/// Where a console request comes from, for the platform audit log: channel <c>console</c>, the client address (the peer
/// as Kestrel sees it, or the <c>X-Forwarded-For</c> client when the peer is a proxy listed under
/// <c>CleanCrm:ForwardedHeaders</c>; docs/SECURITY.md) and the browser's user agent.
/// </summary>
public sealed class ConsoleRequestOrigin(IHttpContextAccessor accessor) : IRequestOrigin
{
    public string Channel => FixedRequestOrigin.Console;

    public string? IpAddress => accessor.HttpContext?.Connection.RemoteIpAddress?.ToString();

    public string? UserAgent => accessor.HttpContext?.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null;
}
