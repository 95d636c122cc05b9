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

    public static string Normalize(string email) => email.Trim().ToUpperInvariant();
}
