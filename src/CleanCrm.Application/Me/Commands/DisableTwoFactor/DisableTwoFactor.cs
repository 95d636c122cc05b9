using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Me.Commands.DisableTwoFactor;

/// <summary>
/// Turns two-factor sign-in off with a fresh code (a stolen access token alone cannot). A member of an organization that
/// requires two-factor is asked to enrol again at the next sign-in.
/// </summary>
[RequiresSignedInUser]
public sealed record DisableTwoFactor(TwoFactorCodeFields Fields) : ICommand<Result<Unit>>;

public sealed class DisableTwoFactorValidator : AbstractValidator<DisableTwoFactor>
{
    public DisableTwoFactorValidator() =>
        RuleFor(x => x.Fields.Code).NotEmpty().WithMessage("is required.").MaximumLength(20).OverridePropertyName("code");
}

public sealed class DisableTwoFactorHandler(ICatalogDbContext db, ICallerContext caller, AccountSecurity security)
    : ICommandHandler<DisableTwoFactor, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(DisableTwoFactor command, CancellationToken cancellationToken)
    {
        var checkedUser = await TwoFactorChecks.UserWithFreshCodeAsync(db, security, caller.UserId!.Value, command.Fields.Code,
            cancellationToken);
        if (!checkedUser.IsSuccess)
        {
            return checkedUser.Error!;
        }

        var user = checkedUser.Value;
        await security.DisableTwoFactorAsync(user, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        return Unit.Value;
    }
}
