using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Account.Commands.RequestPasswordReset;

/// <summary>
/// "Forgot password" on the sign-in pages: mails a single-use reset link (30 minutes) when the email belongs to an account.
/// The answer is the same for an unknown email, so nobody learns which addresses have accounts.
/// </summary>
[AllowAnonymousRequest]
public sealed record RequestPasswordReset(string? Email) : ICommand<Result<Unit>>;

public sealed class RequestPasswordResetValidator : AbstractValidator<RequestPasswordReset>
{
    public RequestPasswordResetValidator() =>
        RuleFor(x => x.Email).NotEmpty().WithMessage("is required.").MaximumLength(254).WithMessage("must be at most 254 characters.")
            .EmailAddress().WithMessage("must be an email address such as ada@example.com.").OverridePropertyName("email");
}

public sealed class RequestPasswordResetHandler(ICatalogDbContext db, AccountSecurity security)
    : ICommandHandler<RequestPasswordReset, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(RequestPasswordReset command, CancellationToken cancellationToken)
    {
        var normalized = UserAccount.Normalize(command.Email!);
        var user = await db.Users.FirstOrDefaultAsync(u => u.NormalizedEmail == normalized, cancellationToken);
        if (user is not null)
        {
            await security.QueuePasswordResetAsync(user, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
        }

        return Unit.Value;
    }
}
