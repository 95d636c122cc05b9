using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Me.Commands.EnrolTwoFactor;

/// <summary>
/// Starts two-factor enrolment with a new TOTP key (a second call replaces an unconfirmed key). Nothing changes at sign-in
/// until a code from the key is confirmed.
/// </summary>
[RequiresSignedInUser]
public sealed record EnrolTwoFactor : ICommand<Result<TwoFactorEnrolmentDto>>;

public sealed class EnrolTwoFactorHandler(ICatalogDbContext db, ICallerContext caller, AccountSecurity security)
    : ICommandHandler<EnrolTwoFactor, Result<TwoFactorEnrolmentDto>>
{
    public async ValueTask<Result<TwoFactorEnrolmentDto>> Handle(EnrolTwoFactor command, CancellationToken cancellationToken)
    {
        var userId = caller.UserId!.Value;
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
        if (user is null)
        {
            return Error.NotFound("User", userId);
        }

        if (user.TwoFactorEnabled)
        {
            return Error.Conflict("two_factor_enabled", "Two-factor sign-in is already enabled; disable it first to use a new key.");
        }

        var key = security.BeginTwoFactorEnrolment(user);
        await db.SaveChangesAsync(cancellationToken);
        return new TwoFactorEnrolmentDto(key, AccountSecurity.OtpAuthUri(user, key));
    }
}
