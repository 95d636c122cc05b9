namespace CleanCrm.Domain.Catalog;

/// <summary>A person who can sign in. The identity issue adds credentials; memberships hang off this.</summary>
public sealed class UserAccount
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Email { get; set; }

    /// <summary>Upper-invariant email, unique: emails are compared case-insensitively.</summary>
    public required string NormalizedEmail { get; set; }

    public required string Name { get; set; }

    public bool IsPlatformAdmin { get; set; }

    /// <summary>ASP.NET Core Identity password hash (PBKDF2); null for users who have not set a password yet.</summary>
    public string? PasswordHash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Consecutive failed sign-ins; reset on success.</summary>
    public int AccessFailedCount { get; set; }

    /// <summary>Sign-ins are refused until then after too many failures.</summary>
    public DateTimeOffset? LockoutEndsAt { get; set; }

    /// <summary>Changes when credentials change; refresh tokens carrying an older stamp are refused.</summary>
    public string SecurityStamp { get; set; } = Guid.NewGuid().ToString("N");

    /// <summary>When the user proved they receive mail at <see cref="Email"/>; null until then.</summary>
    public DateTimeOffset? EmailVerifiedAt { get; set; }

    /// <summary>When the last "please verify your email" reminder was queued (the reminder job sends one).</summary>
    public DateTimeOffset? VerificationRemindedAt { get; set; }

    /// <summary>The TOTP shared key (protected with Data Protection); set at enrolment, in use once confirmed.</summary>
    public string? TwoFactorKey { get; set; }

    /// <summary>When two-factor sign-in was confirmed; null while it is off or only enrolled.</summary>
    public DateTimeOffset? TwoFactorEnabledAt { get; set; }

    /// <summary>The last TOTP time step accepted: a code is accepted once (no replay within its 30 s window).</summary>
    public long? LastTwoFactorStep { get; set; }

    public bool TwoFactorEnabled => TwoFactorEnabledAt is not null && TwoFactorKey is not null;

    /// <summary>Refreshes the stamp: refresh tokens and sign-in sessions issued before are refused.</summary>
    public void RotateSecurityStamp() => SecurityStamp = Guid.NewGuid().ToString("N");

    public static string Normalize(string email) => email.Trim().ToUpperInvariant();
}
