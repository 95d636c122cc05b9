using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Me.Commands.ConfirmTwoFactor;

/// <summary>Turns two-factor sign-in on with a code from the enrolled key; answers 10 recovery codes, shown this once.</summary>
[RequiresSignedInUser]
public sealed record ConfirmTwoFactor(TwoFactorCodeFields Fields) : ICommand<Result<RecoveryCodesDto>>;

public sealed class ConfirmTwoFactorValidator : AbstractValidator<ConfirmTwoFactor>
{
    public ConfirmTwoFactorValidator() =>
        RuleFor(x => x.Fields.Code).NotEmpty().WithMessage("is required.").MaximumLength(20).OverridePropertyName("code");
}

public sealed class ConfirmTwoFactorHandler(ICatalogDbContext db, ICallerContext caller, AccountSecurity security)
    : ICommandHandler<ConfirmTwoFactor, Result<RecoveryCodesDto>>
{
    public async ValueTask<Result<RecoveryCodesDto>> Handle(ConfirmTwoFactor command, CancellationToken cancellationToken)
    {
        var userId = caller.UserId!.Value;
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
        if (user is null)
        {
            return Error.NotFound("User", userId);
        }

        if (user.TwoFactorEnabled)
        {
            return Error.Conflict("two_factor_enabled", "Two-factor sign-in is already enabled.");
        }

        if (user.TwoFactorKey is null)
        {
            return Error.Conflict("two_factor_not_enrolled", "Start with POST /api/v1/me/two-factor/enrol to get a key.");
        }

        if (!security.AcceptTotp(user, command.Fields.Code))
        {
            return TwoFactorErrors.InvalidCode();
        }

        var codes = await security.EnableTwoFactorAsync(user, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        return new RecoveryCodesDto(codes);
    }
}
