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

namespace CleanCrm.Application.Organizations.Commands.SignUp;

public sealed record SignUpFields
{
    public string? OrganizationName { get; init; }

    public string? Slug { get; init; }

    public string? OwnerEmail { get; init; }

    public string? OwnerName { get; init; }

    public string? OwnerPassword { get; init; }

    public string? Plan { get; init; }
}

/// <summary>
/// A new customer: user, organization, owner membership and a pending provisioning run, in one catalog transaction.
/// The run row is the outbox: if queuing fails after commit, the worker's sweeper still finds it.
/// </summary>
[AllowAnonymousRequest]
public sealed record SignUp(SignUpFields Fields) : ICommand<Result<OrganizationAccepted>>;

public sealed class SignUpValidator : AbstractValidator<SignUp>
{
    public SignUpValidator()
    {
        RuleFor(x => x.Fields.OrganizationName).ValidOrganizationName().OverridePropertyName("organizationName");
        RuleFor(x => x.Fields.Slug).ValidSlug().OverridePropertyName("slug");
        RuleFor(x => x.Fields.OwnerEmail).ValidEmail().OverridePropertyName("ownerEmail");
        RuleFor(x => x.Fields.OwnerName)
            .NotEmpty().WithMessage("is required.")
            .MaximumLength(200).WithMessage("must be at most 200 characters.")
            .OverridePropertyName("ownerName");
        RuleFor(x => x.Fields.OwnerPassword).ValidNewPassword(x => x.Fields.OwnerEmail).OverridePropertyName("ownerPassword");
        RuleFor(x => x.Fields.Plan).ValidPlan().OverridePropertyName("plan");
    }
}

public sealed class SignUpHandler(
    ICatalogDbContext db, IPasswordHashing passwords, IProvisioningQueue queue, AccountSecurity security, TimeProvider clock)
    : ICommandHandler<SignUp, Result<OrganizationAccepted>>
{
    public async ValueTask<Result<OrganizationAccepted>> Handle(SignUp command, CancellationToken cancellationToken)
    {
        var fields = command.Fields;
        var email = fields.OwnerEmail!.Trim();
        var normalizedEmail = UserAccount.Normalize(email);
        if (await db.Users.AnyAsync(u => u.NormalizedEmail == normalizedEmail, cancellationToken))
        {
            return OrganizationErrors.EmailTaken();
        }

        if (await db.Organizations.AnyAsync(o => o.Slug == fields.Slug, cancellationToken))
        {
            return OrganizationErrors.SlugTaken(fields.Slug!);
        }

        var now = clock.GetUtcNow();
        var user = new UserAccount
        {
            Email = email,
            NormalizedEmail = normalizedEmail,
            Name = fields.OwnerName!.Trim(),
            PasswordHash = passwords.Hash(fields.OwnerPassword!),
            CreatedAt = now,
        };
        db.Users.Add(user);
        // The organization provisions at once; the owner verifies the address from the mail (docs/SECURITY.md).
        await security.QueueEmailVerificationAsync(user, email, reminder: false, cancellationToken);
        var run = OrganizationFactory.Add(db, user.Id, fields.OrganizationName!, fields.Slug!, fields.Plan!, now, out var organization);

        // Lost a race with a concurrent signup: exactly one wins, the other gets the same 409 as a sequential retry.
        return await OrganizationFactory.CommitAndQueueAsync(
            db,
            queue,
            run,
            organization,
            exception => exception.ConstraintName.Contains("email", StringComparison.Ordinal)
                ? OrganizationErrors.EmailTaken()
                : OrganizationErrors.SlugTaken(fields.Slug!),
            cancellationToken);
    }
}
