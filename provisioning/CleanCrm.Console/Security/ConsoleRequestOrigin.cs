using CleanCrm.Application.Common.Security;

namespace CleanCrm.Console.Security;

/// <summary>
/// Where a console request comes from, for the platform audit log: channel <c>console</c>, the peer address as Kestrel
/// sees it (no forwarded header is believed) and the browser's user agent.
/// </summary>
public sealed class ConsoleRequestOrigin(IHttpContextAccessor accessor) : IRequestOrigin
{
    public string Channel => FixedRequestOrigin.Console;

    public string? IpAddress => accessor.HttpContext?.Connection.RemoteIpAddress?.ToString();

    public string? UserAgent => accessor.HttpContext?.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null;
}
