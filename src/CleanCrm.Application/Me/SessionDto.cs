using CleanCrm.Application.Common.Identity;

namespace CleanCrm.Application.Me;

/// <summary>One of the caller's sign-in sessions (<c>GET /api/v1/me/sessions</c>).</summary>
/// <param name="Device">A short description of the browser or program derived from the user agent.</param>
/// <param name="LastUsedAt">When tokens were last issued for it (sign-in or refresh).</param>
/// <param name="Current">True for the session of the token that made this request.</param>
public sealed record SessionDto(
    Guid Id,
    string? ClientId,
    string? Client,
    string Device,
    string? UserAgent,
    string? IpAddress,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUsedAt,
    bool Current)
{
    public static SessionDto From(UserSession session, Guid? currentSessionId) =>
        new(session.Id, session.ClientId, session.ClientName, DeviceOf(session.UserAgent), session.UserAgent, session.IpAddress,
            session.CreatedAt, session.LastUsedAt ?? session.CreatedAt, session.Id == currentSessionId);

    /// <summary>"Firefox on Windows"-style label; the full user agent is returned too.</summary>
    public static string DeviceOf(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent))
        {
            return "Unknown device";
        }

        string? browser = Contains(userAgent, "Edg/") ? "Edge"
            : Contains(userAgent, "Firefox/") ? "Firefox"
            : Contains(userAgent, "Chrome/") || Contains(userAgent, "Chromium/") ? "Chrome"
            : Contains(userAgent, "Safari/") ? "Safari"
            : null;
        string? system = Contains(userAgent, "Android") ? "Android"
            : Contains(userAgent, "iPhone") || Contains(userAgent, "iPad") ? "iOS"
            : Contains(userAgent, "Windows") ? "Windows"
            : Contains(userAgent, "Mac OS X") ? "macOS"
            : Contains(userAgent, "Linux") ? "Linux"
            : null;
        return (browser, system) switch
        {
            (not null, not null) => $"{browser} on {system}",
            (not null, null) => browser,
            (null, not null) => system,
            _ => userAgent.Split(' ', 2)[0] is { Length: <= 60 } product ? product : "Unknown device",
        };
    }

    private static bool Contains(string value, string part) => value.Contains(part, StringComparison.Ordinal);
}
