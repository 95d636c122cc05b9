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
        RuleFor(x => x.Fields.OwnerName).NotEmpty().WithMessage("is required.").MaximumLength(200).WithMessage("must be at most 200 characters.").OverridePropertyName("ownerName");
        RuleFor(x => x.Fields.OwnerPassword).ValidNewPassword(x => x.Fields.OwnerEmail).OverridePropertyName("ownerPassword");
        RuleFor(x => x.Fields.Plan).ValidPlan().OverridePropertyName("plan");
    }
}

public sealed class SignUpHandler(ICatalogDbContext db, IPasswordHashing passwords, IProvisioningQueue queue, TimeProvider clock)
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
        var run = OrganizationFactory.Add(db, user.Id, fields.OrganizationName!, fields.Slug!, fields.Plan!, now, out var organization);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (ConstraintViolationException exception) when (exception.Kind == ConstraintKind.Unique)
        {
            // Lost a race with a concurrent signup: exactly one wins, the other gets the same 409 as a sequential retry.
            return exception.ConstraintName.Contains("email", StringComparison.Ordinal) ? OrganizationErrors.EmailTaken() : OrganizationErrors.SlugTaken(fields.Slug!);
        }

        await queue.EnqueueAsync(run.Id, cancellationToken);
        return new OrganizationAccepted(organization.Id, organization.Slug, "pending");
    }
}

internal static class OrganizationErrors
{
    public static Error SlugTaken(string slug) => new(ErrorType.Conflict, ErrorCodes.SlugTaken, $"The slug '{slug}' is already taken.")
    {
        Errors = new Dictionary<string, string[]> { ["slug"] = ["is already taken."] },
    };

    // Same answer whoever owns the address, so signup does not reveal more than "taken".
    public static Error EmailTaken() => new(ErrorType.Conflict, ErrorCodes.EmailTaken, "This email address is already registered; sign in and create the organization from your account.")
    {
        Errors = new Dictionary<string, string[]> { ["ownerEmail"] = ["is already registered."] },
    };
}

internal static class OrganizationFactory
{
    /// <summary>Adds the organization, the owner membership and a pending provisioning run to the unit of work.</summary>
    public static ProvisioningRun Add(ICatalogDbContext db, Guid ownerId, string name, string slug, string plan, DateTimeOffset now, out Organization organization)
    {
        // A paid plan starts on free limits; the Stripe webhook switches it once the subscription is active.
        organization = new Organization { Slug = slug, Name = name.Trim(), PlanKey = Plan.Free, CreatedAt = now, UpdatedAt = now };
        db.Organizations.Add(organization);
        if (plan != Plan.Free)
        {
            db.Subscriptions.Add(new BillingSubscription { OrganizationId = organization.Id, RequestedPlanKey = plan, UpdatedAt = now });
        }

        db.Memberships.Add(new Membership { OrganizationId = organization.Id, UserId = ownerId, Role = OrgRole.Owner, CreatedAt = now, UpdatedAt = now });
        var run = ProvisioningRun.For(organization.Id, now);
        db.ProvisioningRuns.Add(run);
        return run;
    }
}
