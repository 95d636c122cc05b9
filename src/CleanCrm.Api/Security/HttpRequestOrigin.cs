using CleanCrm.Application.Common.Security;

namespace CleanCrm.Api.Security;

/// <summary>
/// The API request's origin for the platform audit log: the peer address as Kestrel sees it. The API configures no
/// forwarded-headers handling, so an <c>X-Forwarded-For</c> sent by the client is not believed (it could name anyone).
/// </summary>
public sealed class HttpRequestOrigin(IHttpContextAccessor accessor) : IRequestOrigin
{
    public string Channel => FixedRequestOrigin.Api;

    public string? IpAddress => accessor.HttpContext?.Connection.RemoteIpAddress?.ToString();

    public string? UserAgent => accessor.HttpContext?.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null;
}
