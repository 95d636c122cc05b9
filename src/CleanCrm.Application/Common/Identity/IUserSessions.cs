namespace CleanCrm.Application.Common.Identity;

/// <summary>
/// A user's sign-in sessions: one per sign-in (an OpenIddict authorization with its refresh-token chain). Revoking one
/// refuses its refresh tokens at once and its access tokens on every API instance (docs/SECURITY.md, "Sessions").
/// </summary>
public interface IUserSessions
{
    /// <summary>The user's sessions that can still be used, newest first.</summary>
    Task<IReadOnlyList<UserSession>> ListAsync(Guid userId, CancellationToken cancellationToken);

    /// <summary>Revokes one of the user's sessions; false when the user has no such session.</summary>
    Task<bool> RevokeAsync(Guid userId, Guid sessionId, CancellationToken cancellationToken);

    /// <summary>
    /// Signs the user out everywhere: every session, refresh token and sign-in cookie (the security stamp changes); the
    /// number of sessions that were still valid.
    /// </summary>
    Task<int> RevokeAllAsync(Guid userId, CancellationToken cancellationToken);
}

/// <summary>One sign-in session as stored.</summary>
public sealed record UserSession(
    Guid Id,
    string? ClientId,
    string? ClientName,
    string? UserAgent,
    string? IpAddress,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt);
