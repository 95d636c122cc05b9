using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Validation;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Me.Commands.ChangePassword;

public sealed record ChangePasswordFields
{
    public string? CurrentPassword { get; init; }

    public string? NewPassword { get; init; }
}

/// <summary>
/// The signed-in user sets a new password (<c>POST /api/v1/me/password</c>). Every refresh token of the user, this
/// session's included, stops working: other devices must sign in with the new password.
/// </summary>
[RequiresSignedInUser]
public sealed record ChangePassword(ChangePasswordFields Fields) : ICommand<Result<Unit>>;

public sealed class ChangePasswordValidator : AbstractValidator<ChangePassword>
{
    public ChangePasswordValidator()
    {
        RuleFor(x => x.Fields.CurrentPassword).NotEmpty().WithMessage("is required.").OverridePropertyName("currentPassword");
        RuleFor(x => x.Fields.NewPassword).ValidNewPassword(_ => null).OverridePropertyName("newPassword");
    }
}

public sealed class ChangePasswordHandler(ICatalogDbContext db, ICallerContext caller, AccountSecurity security, IPasswordHashing passwords)
    : ICommandHandler<ChangePassword, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(ChangePassword command, CancellationToken cancellationToken)
    {
        var userId = caller.UserId!.Value;
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
        if (user is null)
        {
            return Error.NotFound("User", userId);
        }

        if (await security.CheckCurrentPasswordAsync(user, command.Fields.CurrentPassword, cancellationToken) is { } wrong)
        {
            return wrong;
        }

        if (command.Fields.NewPassword!.Contains(user.Email.Split('@')[0], StringComparison.OrdinalIgnoreCase))
        {
            return Error.Validation("newPassword", "must not contain your email name.");
        }

        await security.SetPasswordAsync(user, passwords.Hash(command.Fields.NewPassword), cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        return Unit.Value;
    }
}
