using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Me.Commands.RegenerateRecoveryCodes;

/// <summary>Ten new recovery codes for a fresh code; the previous ones stop working.</summary>
[RequiresSignedInUser]
public sealed record RegenerateRecoveryCodes(TwoFactorCodeFields Fields) : ICommand<Result<RecoveryCodesDto>>;

public sealed class RegenerateRecoveryCodesValidator : AbstractValidator<RegenerateRecoveryCodes>
{
    public RegenerateRecoveryCodesValidator() =>
        RuleFor(x => x.Fields.Code).NotEmpty().WithMessage("is required.").MaximumLength(20).OverridePropertyName("code");
}

public sealed class RegenerateRecoveryCodesHandler(ICatalogDbContext db, ICallerContext caller, AccountSecurity security)
    : ICommandHandler<RegenerateRecoveryCodes, Result<RecoveryCodesDto>>
{
    public async ValueTask<Result<RecoveryCodesDto>> Handle(RegenerateRecoveryCodes command, CancellationToken cancellationToken)
    {
        var checkedUser = await TwoFactorChecks.UserWithFreshCodeAsync(db, security, caller.UserId!.Value, command.Fields.Code,
            cancellationToken);
        if (!checkedUser.IsSuccess)
        {
            return checkedUser.Error!;
        }

        var user = checkedUser.Value;
        var codes = await security.ReplaceRecoveryCodesAsync(user, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        return new RecoveryCodesDto(codes);
    }
}
