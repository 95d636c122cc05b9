using System.Security.Cryptography;
using System.Text;
using CleanCrm.Application.Common.Email;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Common.Identity;

/// <summary>
/// The account-security rules shared by the use cases and the sign-in pages: single-use mailed tokens (stored hashed),
/// TOTP and recovery codes, and ending every session of a user. Changes join the caller's catalog unit of work.
/// </summary>
public sealed class AccountSecurity(
    ICatalogDbContext db,
    IEmailOutbox outbox,
    IAccountLinks links,
    ISessionRevocation sessions,
    ITwoFactorKeyProtector keys,
    IPasswordHashing passwords,
    TimeProvider clock)
{
    public const int MaxFailedPasswords = 5;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    public const int RecoveryCodeCount = 10;
    public const string TotpIssuer = "CleanCrm";
    public static readonly TimeSpan PasswordResetLifetime = TimeSpan.FromMinutes(30);
    public static readonly TimeSpan VerifyEmailLifetime = TimeSpan.FromDays(3);

    public static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Adds a password-reset token and its mail; earlier unused reset links of the user stop working.</summary>
    public async Task QueuePasswordResetAsync(UserAccount user, CancellationToken cancellationToken)
    {
        var token = await IssueAsync(user.Id, AccountTokenPurpose.PasswordReset, user.Email, PasswordResetLifetime, cancellationToken);
        outbox.Add(EmailTemplates.PasswordReset(user.Email, user.Name, links.ResetPasswordPage(token), PasswordResetLifetime));
    }

    /// <summary>
    /// Adds a verification token for <paramref name="email"/> (the user's address or the one it changes to) and its mail.
    /// </summary>
    public async Task QueueEmailVerificationAsync(UserAccount user, string email, bool reminder, CancellationToken cancellationToken)
    {
        var token = await IssueAsync(user.Id, AccountTokenPurpose.VerifyEmail, email, VerifyEmailLifetime, cancellationToken);
        outbox.Add(EmailTemplates.VerifyEmail(email, user.Name, links.VerifyEmailPage(token), VerifyEmailLifetime, reminder));
    }

    /// <summary>The unused, unexpired token of that purpose, or null (unknown, used, expired or replaced).</summary>
    public async Task<AccountToken?> FindTokenAsync(AccountTokenPurpose purpose, string? token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(token) || token.Length > 200)
        {
            return null;
        }

        var hash = HashToken(token.Trim());
        var now = clock.GetUtcNow();
        return await db.AccountTokens.FirstOrDefaultAsync(
            t => t.TokenHash == hash && t.Purpose == purpose && t.UsedAt == null && t.ExpiresAt > now, cancellationToken);
    }

    /// <summary>A new password: the lockout ends and every session and refresh token of the user stops working.</summary>
    public async Task SetPasswordAsync(UserAccount user, string passwordHash, CancellationToken cancellationToken)
    {
        user.PasswordHash = passwordHash;
        user.AccessFailedCount = 0;
        user.LockoutEndsAt = null;
        await EndSessionsAsync(user, cancellationToken);
    }

    /// <summary>
    /// Checks the signed-in user's current password before a sensitive change, with the sign-in lockout: wrong guesses
    /// count and a locked account is refused like a wrong password.
    /// </summary>
    public async Task<Error?> CheckCurrentPasswordAsync(UserAccount user, string? password, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (user.LockoutEndsAt > now)
        {
            return new Error(ErrorType.BadRequest, "account_locked",
                $"Too many wrong passwords; try again after {user.LockoutEndsAt:HH:mm} UTC.");
        }

        if (user.PasswordHash is not null && password is not null && passwords.Verify(user.PasswordHash, password))
        {
            user.AccessFailedCount = 0;
            return null;
        }

        if (++user.AccessFailedCount >= MaxFailedPasswords)
        {
            user.LockoutEndsAt = now.Add(LockoutDuration);
            user.AccessFailedCount = 0;
        }

        await db.SaveChangesAsync(cancellationToken);
        return Error.Validation("currentPassword", "is not your current password.");
    }

    /// <summary>Rotates the security stamp (refresh tokens carry it) and revokes the user's tokens at the server.</summary>
    public async Task EndSessionsAsync(UserAccount user, CancellationToken cancellationToken)
    {
        user.RotateSecurityStamp();
        await sessions.RevokeAllAsync(user.Id, cancellationToken);
    }

    /// <summary>Starts (or restarts) enrolment: a new key, not in use until a code from it is confirmed.</summary>
    public string BeginTwoFactorEnrolment(UserAccount user)
    {
        var key = Totp.NewKey();
        user.TwoFactorKey = keys.Protect(key);
        user.TwoFactorEnabledAt = null;
        user.LastTwoFactorStep = null;
        return key;
    }

    public string? TwoFactorKey(UserAccount user) => user.TwoFactorKey is { } stored ? keys.Unprotect(stored) : null;

    public static string OtpAuthUri(UserAccount user, string key) => Totp.OtpAuthUri(TotpIssuer, user.Email, key);

    /// <summary>Checks a TOTP code against the user's key (enrolled or enabled); an accepted code cannot be used again.</summary>
    public bool AcceptTotp(UserAccount user, string? code)
    {
        if (TwoFactorKey(user) is not { } key || Totp.Match(key, code, clock.GetUtcNow(), user.LastTwoFactorStep) is not { } step)
        {
            return false;
        }

        user.LastTwoFactorStep = step;
        return true;
    }

    /// <summary>Turns two-factor on after a confirming code; answers the new recovery codes (shown once).</summary>
    public async Task<IReadOnlyList<string>> EnableTwoFactorAsync(UserAccount user, CancellationToken cancellationToken)
    {
        user.TwoFactorEnabledAt = clock.GetUtcNow();
        return await ReplaceRecoveryCodesAsync(user, cancellationToken);
    }

    public async Task DisableTwoFactorAsync(UserAccount user, CancellationToken cancellationToken)
    {
        user.TwoFactorKey = null;
        user.TwoFactorEnabledAt = null;
        user.LastTwoFactorStep = null;
        await db.RecoveryCodes.Where(c => c.UserId == user.Id).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>Ten new single-use codes; the previous ones stop working. Only their hashes are kept.</summary>
    public async Task<IReadOnlyList<string>> ReplaceRecoveryCodesAsync(UserAccount user, CancellationToken cancellationToken)
    {
        await db.RecoveryCodes.Where(c => c.UserId == user.Id).ExecuteDeleteAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var codes = Enumerable.Range(0, RecoveryCodeCount).Select(_ => NewRecoveryCode()).ToList();
        foreach (var code in codes)
        {
            db.RecoveryCodes.Add(new RecoveryCode { UserId = user.Id, CodeHash = HashToken(NormalizeRecoveryCode(code)), CreatedAt = now });
        }

        return codes;
    }

    /// <summary>Uses one recovery code (atomically: a code works once even when two requests race).</summary>
    public async Task<bool> UseRecoveryCodeAsync(UserAccount user, string? code, CancellationToken cancellationToken)
    {
        var normalized = NormalizeRecoveryCode(code);
        if (normalized.Length is < 8 or > 40)
        {
            return false;
        }

        var hash = HashToken(normalized);
        var now = clock.GetUtcNow();
        return await db.RecoveryCodes.Where(c => c.UserId == user.Id && c.CodeHash == hash && c.UsedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.UsedAt, now), cancellationToken) == 1;
    }

    public Task<int> RemainingRecoveryCodesAsync(Guid userId, CancellationToken cancellationToken) =>
        db.RecoveryCodes.CountAsync(c => c.UserId == userId && c.UsedAt == null, cancellationToken);

    /// <summary>True when an organization the user belongs to requires two-factor sign-in.</summary>
    public Task<bool> TwoFactorRequiredAsync(Guid userId, CancellationToken cancellationToken) =>
        db.Memberships.AnyAsync(
            m => m.UserId == userId && m.Organization!.RequireTwoFactor && m.Organization.Status != OrganizationStatus.Deleted,
            cancellationToken);

    private async Task<string> IssueAsync(Guid userId, AccountTokenPurpose purpose, string email, TimeSpan lifetime,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        // Only the newest link of a kind works: the older ones are marked used.
        await db.AccountTokens.Where(t => t.UserId == userId && t.Purpose == purpose && t.UsedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.UsedAt, now), cancellationToken);
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        db.AccountTokens.Add(new AccountToken
        {
            UserId = userId,
            Purpose = purpose,
            TokenHash = HashToken(token),
            Email = email,
            CreatedAt = now,
            ExpiresAt = now.Add(lifetime),
        });
        return token;
    }

    // Ten lower-case letters and digits in two groups (xxxxx-xxxxx), without look-alikes: about 50 bits each.
    private static string NewRecoveryCode()
    {
        const string alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
        var chars = Enumerable.Range(0, 10).Select(_ => alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)]).ToArray();
        return $"{new string(chars, 0, 5)}-{new string(chars, 5, 5)}";
    }

    private static string NormalizeRecoveryCode(string? code) =>
        new((code ?? string.Empty).Where(char.IsAsciiLetterOrDigit).Select(char.ToLowerInvariant).ToArray());
}
