namespace CleanCrm.Domain.Catalog;

/// <summary>What an <see cref="AccountToken"/> allows.</summary>
public enum AccountTokenPurpose
{
    PasswordReset,
    VerifyEmail,
}

/// <summary>
/// A single-use credential mailed to a user (password reset, email verification). The catalog keeps only its SHA-256
/// hash; the token travels only by email.
/// </summary>
public sealed class AccountToken
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid UserId { get; set; }

    public AccountTokenPurpose Purpose { get; set; }

    /// <summary>Lower-case hex SHA-256 of the token; unique.</summary>
    public required string TokenHash { get; set; }

    /// <summary>The address the token was sent to: verifying it makes this the user's email (email change).</summary>
    public required string Email { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? UsedAt { get; set; }
}

/// <summary>One of a user's single-use two-factor recovery codes, kept as a SHA-256 hash.</summary>
public sealed class RecoveryCode
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid UserId { get; set; }

    /// <summary>Lower-case hex SHA-256 of the normalized code.</summary>
    public required string CodeHash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? UsedAt { get; set; }
}
