using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Validation;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Account.Commands.ResetPassword;

/// <summary>
/// Sets a new password with a mailed reset token. The token works once; afterwards every session and refresh token of the
/// user is refused. Resetting also proves the address, so an unverified email becomes verified.
/// </summary>
[AllowAnonymousRequest]
public sealed record ResetPassword(string? Token, string? NewPassword) : ICommand<Result<Unit>>;

public sealed class ResetPasswordValidator : AbstractValidator<ResetPassword>
{
    public ResetPasswordValidator()
    {
        RuleFor(x => x.Token).NotEmpty().WithMessage("is required.").OverridePropertyName("token");
        RuleFor(x => x.NewPassword).ValidNewPassword(_ => null).OverridePropertyName("newPassword");
    }
}

public sealed class ResetPasswordHandler(ICatalogDbContext db, AccountSecurity security, IPasswordHashing passwords, TimeProvider clock)
    : ICommandHandler<ResetPassword, Result<Unit>>
{
    public static Error LinkInvalid() =>
        new(ErrorType.BadRequest, "reset_link_invalid", "This reset link is invalid, used or expired; ask for a new one.");

    public async ValueTask<Result<Unit>> Handle(ResetPassword command, CancellationToken cancellationToken)
    {
        var token = await security.FindTokenAsync(AccountTokenPurpose.PasswordReset, command.Token, cancellationToken);
        var user = token is null ? null : await db.Users.FirstOrDefaultAsync(u => u.Id == token.UserId, cancellationToken);
        if (token is null || user is null || UserAccount.Normalize(token.Email) != user.NormalizedEmail)
        {
            return LinkInvalid();
        }

        if (command.NewPassword!.Contains(user.Email.Split('@')[0], StringComparison.OrdinalIgnoreCase))
        {
            return Error.Validation("newPassword", "must not contain your email name.");
        }

        var now = clock.GetUtcNow();
        token.UsedAt = now;
        user.EmailVerifiedAt ??= now;
        await security.SetPasswordAsync(user, passwords.Hash(command.NewPassword), cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        return Unit.Value;
    }
}
