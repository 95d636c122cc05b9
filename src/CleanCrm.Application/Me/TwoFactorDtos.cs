using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Me;

/// <summary>The signed-in user's two-factor state (<c>GET /api/v1/me/two-factor</c>).</summary>
/// <param name="Enabled">Sign-in asks for a code.</param>
/// <param name="Pending">Enrolment started but not confirmed with a code yet.</param>
/// <param name="RecoveryCodesLeft">Unused recovery codes.</param>
/// <param name="Required">An organization of the user requires two-factor sign-in.</param>
public sealed record TwoFactorStateDto(bool Enabled, bool Pending, int RecoveryCodesLeft, bool Required);

/// <summary>A new TOTP key: add it to an authenticator app (QR code of <c>otpauthUri</c>), then confirm with a code.</summary>
public sealed record TwoFactorEnrolmentDto(string SharedKey, string OtpauthUri);

/// <summary>Single-use recovery codes, shown this once; only their hashes are kept.</summary>
public sealed record RecoveryCodesDto(IReadOnlyList<string> RecoveryCodes);

/// <summary>Body of the two-factor confirm, disable and recovery-code routes: a current code from the authenticator app.</summary>
public sealed record TwoFactorCodeFields
{
    public string? Code { get; init; }
}

internal static class TwoFactorErrors
{
    public static Error InvalidCode() => Error.Validation("code", "is not a valid code from your authenticator app.");

    public static Error NotEnabled() =>
        Error.Conflict("two_factor_not_enabled", "Two-factor sign-in is not enabled for this account.");
}

internal static class TwoFactorChecks
{
    /// <summary>
    /// The signed-in user with two-factor on, when <paramref name="code"/> is a fresh code from their app: turning
    /// two-factor off or replacing the recovery codes needs the second factor, not only an access token. A refused
    /// code is spent all the same (saved), so it cannot be tried twice.
    /// </summary>
    public static async Task<Result<UserAccount>> UserWithFreshCodeAsync(ICatalogDbContext db, AccountSecurity security, Guid userId,
        string? code, CancellationToken cancellationToken)
    {
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
        if (user is null)
        {
            return Error.NotFound("User", userId);
        }

        if (!user.TwoFactorEnabled)
        {
            return TwoFactorErrors.NotEnabled();
        }

        if (!security.AcceptTotp(user, code))
        {
            await db.SaveChangesAsync(cancellationToken);
            return TwoFactorErrors.InvalidCode();
        }

        return user;
    }
}
