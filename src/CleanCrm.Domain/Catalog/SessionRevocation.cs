namespace CleanCrm.Domain.Catalog;

/// <summary>
/// A revoked sign-in session (one OpenIddict authorization) or, without <see cref="AuthorizationId"/>, every session of a
/// user signed in before <see cref="RevokedAt"/>. Every API instance keeps the live rows in memory and refuses access
/// tokens and sign-in cookies they cover, which are otherwise honoured until they expire (docs/SECURITY.md, "Sessions").
/// </summary>
public sealed class SessionRevocation
{
    /// <summary>How long a row matters: longer than any access token (at most a day) or sign-in cookie lives.</summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromDays(1);

    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid UserId { get; set; }

    /// <summary>The revoked session; null when all of the user's sessions up to <see cref="RevokedAt"/> are revoked.</summary>
    public Guid? AuthorizationId { get; set; }

    public DateTimeOffset RevokedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}
