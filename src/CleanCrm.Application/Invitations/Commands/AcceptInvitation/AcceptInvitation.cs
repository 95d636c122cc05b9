using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Behaviors;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Validation;
using CleanCrm.Application.Members;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Invitations.Commands.AcceptInvitation;

public sealed record AcceptInvitationFields
{
    /// <summary>Only when accepting without an account: the new account's display name.</summary>
    public string? Name { get; init; }

    /// <summary>Only when accepting without an account: the new account's password.</summary>
    public string? Password { get; init; }
}

/// <summary>
/// Accepts an invitation, either as the signed-in user whose email matches, or anonymously with a name and password,
/// which creates the account for the invited address. Anyone may send it: the token is the credential.
/// </summary>
[AllowAnonymousRequest]
public sealed record AcceptInvitation(string Token, AcceptInvitationFields Fields) : ICommand<Result<InvitationAccepted>>;

/// <summary>What accepting an invitation produced: the membership of <see cref="UserId"/> in the organization.</summary>
public sealed record InvitationAccepted(Guid OrganizationId, string Slug, Guid UserId, string Role);

public sealed class AcceptInvitationValidator : AbstractValidator<AcceptInvitation>
{
    public AcceptInvitationValidator()
    {
        RuleFor(x => x.Token).NotEmpty().MaximumLength(100).Matches("^[A-Za-z0-9_-]+$").WithMessage("is not an invitation token.")
            .OverridePropertyName("token");
        RuleFor(x => x.Fields.Name).MaximumLength(200).WithMessage("must be at most 200 characters.").OverridePropertyName("name");
        RuleFor(x => x.Fields.Password).MaximumLength(128).WithMessage("must be at most 128 characters.").OverridePropertyName("password");
    }
}

/// <summary>An account created by accepting an invitation anonymously; validated with the signup password policy.</summary>
public sealed record NewAccount(string Email, string? Name, string? Password);

public sealed class NewAccountValidator : AbstractValidator<NewAccount>
{
    public NewAccountValidator()
    {
        RuleFor(x => x.Name).NotEmpty().WithMessage("is required when accepting without an account.")
            .MaximumLength(200).WithMessage("must be at most 200 characters.")
            .OverridePropertyName("name");
        RuleFor(x => x.Password).ValidNewPassword(x => x.Email).OverridePropertyName("password");
    }
}

public sealed class AcceptInvitationHandler(
    ICatalogDbContext db,
    ICallerContext caller,
    IBillingProfiles profiles,
    IPasswordHashing passwords,
    ITenantMemberSync members,
    IValidator<NewAccount> accountRules,
    TimeProvider clock) : ICommandHandler<AcceptInvitation, Result<InvitationAccepted>>
{
    public async ValueTask<Result<InvitationAccepted>> Handle(AcceptInvitation command, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var hash = InvitationTokens.Hash(command.Token);
        var invitation = await db.Invitations.FirstOrDefaultAsync(i => i.TokenHash == hash, cancellationToken);
        if (invitation is null)
        {
            return InvitationErrors.NotFound();
        }

        // Every seat change of an organization holds its row lock: two acceptances of one token, or of two invitations
        // competing for the last seat, run one after the other and the second sees the first's result.
        await db.LockOrganizationAsync(invitation.OrganizationId, cancellationToken);
        await db.Entry(invitation).ReloadAsync(cancellationToken);

        if (invitation.AcceptedAt is not null || invitation.RevokedAt is not null)
        {
            return InvitationErrors.Used();
        }

        if (invitation.ExpiresAt <= now)
        {
            return InvitationErrors.Expired();
        }

        var organization = await db.Organizations.FirstAsync(o => o.Id == invitation.OrganizationId, cancellationToken);
        if (organization.Status != OrganizationStatus.Active)
        {
            return organization.Status == OrganizationStatus.Suspended
                ? Error.Forbidden(ErrorCodes.OrgSuspended, $"Organization '{organization.Slug}' is suspended.")
                : new Error(
                    ErrorType.NotReady,
                    ErrorCodes.OrgNotReady,
                    $"Organization '{organization.Slug}' is not available ({organization.Status.ToString().ToLowerInvariant()}).");
        }

        var user = await UserFor(invitation, command.Fields, now, cancellationToken);
        if (!user.IsSuccess)
        {
            return user.Error!;
        }

        var userId = user.Value.Id;
        if (await db.Memberships.AnyAsync(m => m.OrganizationId == organization.Id && m.UserId == userId, cancellationToken))
        {
            return new Error(ErrorType.Conflict, "already_member", "You are already a member of this organization.");
        }

        // The invitation held a seat since it was sent; a plan downgrade in between can still leave no room.
        if ((await profiles.GetAsync(organization.Id, cancellationToken))?.Limits.Seats is { } limit
            && await db.Memberships.CountAsync(m => m.OrganizationId == organization.Id, cancellationToken) + 1 > limit)
        {
            return InvitationErrors.SeatLimit(limit, limit);
        }

        // The tenant's member row first: harmless if the catalog commit then fails (no membership, no access), and the
        // membership never exists without its row in the tenant database.
        await members.UpsertAsync(organization.Id, userId, user.Value.Email, user.Value.Name, invitation.Role, cancellationToken);
        db.Memberships.Add(new Membership
        {
            OrganizationId = organization.Id,
            UserId = userId,
            Role = invitation.Role,
            CreatedAt = now,
            UpdatedAt = now,
        });
        invitation.AcceptedAt = now;
        invitation.AcceptedByUserId = userId;
        invitation.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new InvitationAccepted(organization.Id, organization.Slug, userId, MemberRoles.Name(invitation.Role));
    }

    /// <summary>The signed-in user whose address was invited, or a new account for it when the caller is anonymous.</summary>
    private async Task<Result<UserAccount>> UserFor(
        Invitation invitation, AcceptInvitationFields fields, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (caller.UserId is { } userId)
        {
            var user = await db.Users.FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
            return user is not null && user.NormalizedEmail == invitation.NormalizedEmail
                ? user
                : Error.Forbidden(
                    "invitation_email_mismatch",
                    "This invitation was sent to another email address; sign in with that address to accept it.");
        }

        var account = new NewAccount(invitation.Email, fields.Name, fields.Password);
        var validation = await accountRules.ValidateAsync(account, cancellationToken);
        if (!validation.IsValid)
        {
            return ValidationErrors.From(validation.Errors);
        }

        if (await db.Users.AnyAsync(u => u.NormalizedEmail == invitation.NormalizedEmail, cancellationToken))
        {
            return new Error(
                ErrorType.Conflict,
                ErrorCodes.EmailTaken,
                "An account with the invited address exists; sign in and accept the invitation from that account.");
        }

        var created = new UserAccount
        {
            Email = invitation.Email,
            NormalizedEmail = invitation.NormalizedEmail,
            Name = account.Name!.Trim(),
            PasswordHash = passwords.Hash(account.Password!),
            CreatedAt = now,
            // The invitation token came by mail to this address: that proves the address.
            EmailVerifiedAt = now,
        };
        db.Users.Add(created);
        return created;
    }
}
