using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Validation;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Me.Commands.ChangeEmail;

public sealed record ChangeEmailFields
{
    public string? NewEmail { get; init; }

    public string? CurrentPassword { get; init; }
}

/// <summary>Where the verification mail went (<c>POST /api/v1/me/email</c>, 202).</summary>
public sealed record EmailChangeRequested(string PendingEmail, DateTimeOffset ExpiresAt);

/// <summary>
/// The signed-in user asks to change their email: a verification link goes to the new address, and the change happens
/// when it is opened (the old address keeps working until then).
/// </summary>
[RequiresSignedInUser]
public sealed record ChangeEmail(ChangeEmailFields Fields) : ICommand<Result<EmailChangeRequested>>;

public sealed class ChangeEmailValidator : AbstractValidator<ChangeEmail>
{
    public ChangeEmailValidator()
    {
        RuleFor(x => x.Fields.NewEmail).ValidEmail().OverridePropertyName("newEmail");
        RuleFor(x => x.Fields.CurrentPassword).NotEmpty().WithMessage("is required.").OverridePropertyName("currentPassword");
    }
}

public sealed class ChangeEmailHandler(ICatalogDbContext db, ICallerContext caller, AccountSecurity security, TimeProvider clock)
    : ICommandHandler<ChangeEmail, Result<EmailChangeRequested>>
{
    public async ValueTask<Result<EmailChangeRequested>> Handle(ChangeEmail command, CancellationToken cancellationToken)
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

        var email = command.Fields.NewEmail!.Trim();
        var normalized = UserAccount.Normalize(email);
        if (normalized == user.NormalizedEmail)
        {
            return Error.Validation("newEmail", "is already your email address.");
        }

        if (await db.Users.AnyAsync(u => u.NormalizedEmail == normalized, cancellationToken))
        {
            return Error.Conflict(ErrorCodes.EmailTaken, "Another account uses this email address.");
        }

        await security.QueueEmailVerificationAsync(user, email, reminder: false, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        return new EmailChangeRequested(email, clock.GetUtcNow().Add(AccountSecurity.VerifyEmailLifetime));
    }
}
