using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Account.Commands.VerifyEmail;

/// <summary>
/// Confirms an address with a mailed token: the signup address becomes verified; for an email change the new address
/// replaces the old one (and the user's sessions end, as the sign-in name changed).
/// </summary>
[AllowAnonymousRequest]
public sealed record VerifyEmail(string? Token) : ICommand<Result<VerifiedEmail>>;

public sealed record VerifiedEmail(Guid UserId, string Email, bool Changed);

public sealed class VerifyEmailValidator : AbstractValidator<VerifyEmail>
{
    public VerifyEmailValidator() => RuleFor(x => x.Token).NotEmpty().WithMessage("is required.").OverridePropertyName("token");
}

public sealed class VerifyEmailHandler(ICatalogDbContext db, AccountSecurity security, TimeProvider clock)
    : ICommandHandler<VerifyEmail, Result<VerifiedEmail>>
{
    public async ValueTask<Result<VerifiedEmail>> Handle(VerifyEmail command, CancellationToken cancellationToken)
    {
        var token = await security.FindTokenAsync(AccountTokenPurpose.VerifyEmail, command.Token, cancellationToken);
        var user = token is null ? null : await db.Users.FirstOrDefaultAsync(u => u.Id == token.UserId, cancellationToken);
        if (token is null || user is null)
        {
            return new Error(ErrorType.BadRequest, "verification_link_invalid",
                "This verification link is invalid, used or expired; sign in to get a new one.");
        }

        var now = clock.GetUtcNow();
        token.UsedAt = now;
        var normalized = UserAccount.Normalize(token.Email);
        var changed = normalized != user.NormalizedEmail;
        if (changed)
        {
            if (await db.Users.AnyAsync(u => u.NormalizedEmail == normalized && u.Id != user.Id, cancellationToken))
            {
                await db.SaveChangesAsync(cancellationToken);
                return Error.Conflict(ErrorCodes.EmailTaken, "Another account uses this email address now.");
            }

            user.Email = token.Email;
            user.NormalizedEmail = normalized;
            await security.EndSessionsAsync(user, cancellationToken);
        }

        user.EmailVerifiedAt = now;
        await db.SaveChangesAsync(cancellationToken);
        return new VerifiedEmail(user.Id, user.Email, changed);
    }
}
