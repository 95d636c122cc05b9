using CleanCrm.Application.Common.Security;

namespace CleanCrm.Api.Security;

/// <summary>
/// The API request's origin for the platform audit log: the peer address as Kestrel sees it, or the client named by
/// <c>X-Forwarded-For</c> when the peer is a proxy listed under <c>CleanCrm:ForwardedHeaders</c> (docs/SECURITY.md). From
/// anyone else the header is not believed (it could name anyone).
/// </summary>
public sealed class HttpRequestOrigin(IHttpContextAccessor accessor) : IRequestOrigin
{
    public string Channel => FixedRequestOrigin.Api;

    public string? IpAddress => accessor.HttpContext?.Connection.RemoteIpAddress?.ToString();

    public string? UserAgent => accessor.HttpContext?.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null;
}
