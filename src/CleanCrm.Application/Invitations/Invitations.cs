using System.Security.Cryptography;
using System.Text;
using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Behaviors;
using CleanCrm.Application.Common.Email;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Application.Common.Validation;
using CleanCrm.Application.Members;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CleanCrm.Application.Invitations;

/// <summary>Invitation settings (section <c>CleanCrm:Invitations</c>).</summary>
public sealed class InvitationOptions
{
    public const string SectionName = "CleanCrm:Invitations";

    /// <summary>How long an invitation link works.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>An invitation as owners and admins see it; the token is never part of it (it travels only by email).</summary>
public sealed record InvitationDto(Guid Id, string Email, string Role, string Status, DateTimeOffset ExpiresAt, DateTimeOffset CreatedAt, Guid? InvitedBy);

public sealed record InvitationList(IReadOnlyList<InvitationDto> Items);

/// <summary>What accepting an invitation produced: the membership of <see cref="UserId"/> in the organization.</summary>
public sealed record InvitationAccepted(Guid OrganizationId, string Slug, Guid UserId, string Role);

/// <summary>Keeps the member list inside a tenant database in step with catalog memberships.</summary>
public interface ITenantMemberSync
{
    Task UpsertAsync(Guid organizationId, Guid userId, string email, string name, OrgRole role, CancellationToken cancellationToken);
}

public static class InvitationTokens
{
    /// <summary>A 256-bit URL-safe random token.</summary>
    public static string NewToken() => Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

internal static class InvitationErrors
{
    public static Error SeatLimit(int seats, int used) => new(ErrorType.PaymentRequired, ErrorCodes.PlanLimitReached,
        $"The plan includes {seats} seat(s) and {used} are taken by members and pending invitations; upgrade the plan (POST /api/v1/billing/checkout) or revoke a pending invitation.")
    {
        Errors = new Dictionary<string, string[]> { ["seats"] = [$"limit {seats} reached"] },
    };

    // One answer for unknown, used, revoked and expired tokens is tempting, but the invitee needs to know what to do;
    // the token itself is 256 random bits, so distinguishing the states reveals nothing guessable.
    public static Error NotFound() => new(ErrorType.NotFound, ErrorCodes.NotFound, "This invitation does not exist or was replaced by a newer one.");

    public static Error Expired() => new(ErrorType.Conflict, "invitation_expired", "This invitation has expired; ask for a new one.");

    public static Error Used() => new(ErrorType.Conflict, "invitation_used", "This invitation was already used or revoked.");
}

public sealed record CreateInvitationFields
{
    public string? Email { get; init; }

    public string? Role { get; init; }
}

[RequiresPermission(Permission.MembersManage)]
public sealed record CreateInvitation(CreateInvitationFields Fields) : ICommand<Result<InvitationDto>>, IOrgScopedRequest;

public sealed class CreateInvitationValidator : AbstractValidator<CreateInvitation>
{
    public CreateInvitationValidator()
    {
        RuleFor(x => x.Fields.Email).ValidEmail().OverridePropertyName("email");
        RuleFor(x => x.Fields.Role).Must(role => role is not null && MemberRoles.TryParse(role, out _))
            .WithMessage("must be one of owner, admin, member, readonly, auditor.").OverridePropertyName("role");
    }
}

public sealed class CreateInvitationHandler(
    ICatalogDbContext db, ITenantContext tenant, ICallerContext caller, IBillingProfiles profiles, IEmailOutbox outbox, IPublicLinks links,
    IOptions<InvitationOptions> options, TimeProvider clock) : ICommandHandler<CreateInvitation, Result<InvitationDto>>
{
    public async ValueTask<Result<InvitationDto>> Handle(CreateInvitation command, CancellationToken cancellationToken)
    {
        MemberRoles.TryParse(command.Fields.Role!, out var role);
        if (role == OrgRole.Owner && caller.Role != OrgRole.Owner && !caller.IsSystem)
        {
            return Error.Forbidden(ErrorCodes.Forbidden, "Only owners can invite owners.");
        }

        var organization = tenant.Current!;
        var email = command.Fields.Email!.Trim();
        var normalized = UserAccount.Normalize(email);
        var now = clock.GetUtcNow();
        if (await db.Memberships.AnyAsync(m => m.OrganizationId == organization.OrganizationId && m.User!.NormalizedEmail == normalized, cancellationToken))
        {
            return new Error(ErrorType.Conflict, "already_member", $"{email} is already a member of this organization.")
            {
                Errors = new Dictionary<string, string[]> { ["email"] = ["is already a member."] },
            };
        }

        // Serialize seat accounting per organization: two concurrent invitations cannot both take the last seat.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.LockOrganizationAsync(organization.OrganizationId, cancellationToken);

        var existing = await db.Invitations.FirstOrDefaultAsync(
            i => i.OrganizationId == organization.OrganizationId && i.NormalizedEmail == normalized && i.AcceptedAt == null && i.RevokedAt == null, cancellationToken);
        if ((await profiles.GetAsync(organization.OrganizationId, cancellationToken))?.Limits.Seats is { } limit)
        {
            var members = await db.Memberships.CountAsync(m => m.OrganizationId == organization.OrganizationId, cancellationToken);
            var pending = await db.Invitations.CountAsync(
                i => i.OrganizationId == organization.OrganizationId && i.AcceptedAt == null && i.RevokedAt == null && i.ExpiresAt > now && i.NormalizedEmail != normalized,
                cancellationToken);
            if (members + pending + 1 > limit)
            {
                return InvitationErrors.SeatLimit(limit, members + pending);
            }
        }

        var token = InvitationTokens.NewToken();
        var invitation = existing ?? new Invitation { OrganizationId = organization.OrganizationId, Email = email, NormalizedEmail = normalized, TokenHash = string.Empty, CreatedAt = now };
        invitation.Email = email;
        invitation.Role = role;
        invitation.TokenHash = InvitationTokens.Hash(token);
        invitation.ExpiresAt = now + options.Value.Lifetime;
        invitation.InvitedByUserId = caller.UserId;
        invitation.UpdatedAt = now;
        if (existing is null)
        {
            db.Invitations.Add(invitation);
        }

        var inviter = caller.UserId is { } userId ? await db.Users.Where(u => u.Id == userId).Select(u => u.Name).FirstOrDefaultAsync(cancellationToken) : null;
        outbox.Add(EmailTemplates.Invitation(
            organization.OrganizationId, email, organization.Name, inviter ?? "An administrator", MemberRoles.Name(role), links.InvitationAcceptPage(token), invitation.ExpiresAt));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return InvitationMapping.ToDto(invitation, now);
    }
}

internal static class InvitationMapping
{
    public static InvitationDto ToDto(Invitation invitation, DateTimeOffset now) =>
        new(invitation.Id, invitation.Email, MemberRoles.Name(invitation.Role), invitation.Status(now), invitation.ExpiresAt, invitation.CreatedAt, invitation.InvitedByUserId);
}

/// <summary>Pending invitations (accepted, revoked and expired ones are history).</summary>
[RequiresPermission(Permission.MembersManage)]
public sealed record ListInvitations : IQuery<Result<InvitationList>>, IOrgScopedRequest;

public sealed class ListInvitationsHandler(ICatalogDbContext db, ITenantContext tenant, TimeProvider clock) : IQueryHandler<ListInvitations, Result<InvitationList>>
{
    public async ValueTask<Result<InvitationList>> Handle(ListInvitations query, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var organizationId = tenant.Current!.OrganizationId;
        var rows = await db.Invitations.AsNoTracking()
            .Where(i => i.OrganizationId == organizationId && i.AcceptedAt == null && i.RevokedAt == null && i.ExpiresAt > now)
            .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id)
            .ToListAsync(cancellationToken);
        return new InvitationList([.. rows.Select(i => InvitationMapping.ToDto(i, now))]);
    }
}

[RequiresPermission(Permission.MembersManage)]
public sealed record GetInvitation(Guid Id) : IQuery<Result<InvitationDto>>, IOrgScopedRequest;

public sealed class GetInvitationHandler(ICatalogDbContext db, ITenantContext tenant, TimeProvider clock) : IQueryHandler<GetInvitation, Result<InvitationDto>>
{
    public async ValueTask<Result<InvitationDto>> Handle(GetInvitation query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var invitation = await db.Invitations.AsNoTracking().FirstOrDefaultAsync(i => i.Id == query.Id && i.OrganizationId == organizationId, cancellationToken);
        return invitation is null ? Error.NotFound("Invitation", query.Id) : InvitationMapping.ToDto(invitation, clock.GetUtcNow());
    }
}

[RequiresPermission(Permission.MembersManage)]
public sealed record RevokeInvitation(Guid Id) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class RevokeInvitationHandler(ICatalogDbContext db, ITenantContext tenant, TimeProvider clock) : ICommandHandler<RevokeInvitation, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(RevokeInvitation command, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var now = clock.GetUtcNow();
        var revoked = await db.Invitations
            .Where(i => i.Id == command.Id && i.OrganizationId == organizationId && i.AcceptedAt == null && i.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.RevokedAt, now).SetProperty(i => i.UpdatedAt, now), cancellationToken);
        return revoked == 0 ? Error.NotFound("Invitation", command.Id) : Unit.Value;
    }
}

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

public sealed class AcceptInvitationValidator : AbstractValidator<AcceptInvitation>
{
    public AcceptInvitationValidator()
    {
        RuleFor(x => x.Token).NotEmpty().MaximumLength(100).Matches("^[A-Za-z0-9_-]+$").WithMessage("is not an invitation token.").OverridePropertyName("token");
        RuleFor(x => x.Fields.Name).MaximumLength(200).WithMessage("must be at most 200 characters.").OverridePropertyName("name");
        RuleFor(x => x.Fields.Password).MaximumLength(128).WithMessage("must be at most 128 characters.").OverridePropertyName("password");
    }
}

public sealed class AcceptInvitationHandler(
    ICatalogDbContext db, ICallerContext caller, IBillingProfiles profiles, IPasswordHashing passwords, ITenantMemberSync members,
    IValidator<NewAccount> accountRules, TimeProvider clock) : ICommandHandler<AcceptInvitation, Result<InvitationAccepted>>
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
                : new Error(ErrorType.NotReady, ErrorCodes.OrgNotReady, $"Organization '{organization.Slug}' is not available ({organization.Status.ToString().ToLowerInvariant()}).");
        }

        UserAccount? user;
        if (caller.UserId is { } userId)
        {
            user = await db.Users.FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
            if (user is null || user.NormalizedEmail != invitation.NormalizedEmail)
            {
                return Error.Forbidden("invitation_email_mismatch", "This invitation was sent to another email address; sign in with that address to accept it.");
            }
        }
        else
        {
            var account = new NewAccount(invitation.Email, command.Fields.Name, command.Fields.Password);
            var validation = await accountRules.ValidateAsync(account, cancellationToken);
            if (!validation.IsValid)
            {
                return ValidationErrors.From(validation.Errors);
            }

            if (await db.Users.AnyAsync(u => u.NormalizedEmail == invitation.NormalizedEmail, cancellationToken))
            {
                return new Error(ErrorType.Conflict, ErrorCodes.EmailTaken, "An account with the invited address exists; sign in and accept the invitation from that account.");
            }

            user = new UserAccount
            {
                Email = invitation.Email,
                NormalizedEmail = invitation.NormalizedEmail,
                Name = account.Name!.Trim(),
                PasswordHash = passwords.Hash(account.Password!),
                CreatedAt = now,
            };
            db.Users.Add(user);
        }

        if (await db.Memberships.AnyAsync(m => m.OrganizationId == organization.Id && m.UserId == user.Id, cancellationToken))
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
        await members.UpsertAsync(organization.Id, user.Id, user.Email, user.Name, invitation.Role, cancellationToken);
        db.Memberships.Add(new Membership { OrganizationId = organization.Id, UserId = user.Id, Role = invitation.Role, CreatedAt = now, UpdatedAt = now });
        invitation.AcceptedAt = now;
        invitation.AcceptedByUserId = user.Id;
        invitation.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new InvitationAccepted(organization.Id, organization.Slug, user.Id, MemberRoles.Name(invitation.Role));
    }
}

/// <summary>An account created by accepting an invitation anonymously; validated with the signup password policy.</summary>
public sealed record NewAccount(string Email, string? Name, string? Password);

public sealed class NewAccountValidator : AbstractValidator<NewAccount>
{
    public NewAccountValidator()
    {
        RuleFor(x => x.Name).NotEmpty().WithMessage("is required when accepting without an account.").MaximumLength(200).WithMessage("must be at most 200 characters.").OverridePropertyName("name");
        RuleFor(x => x.Password).ValidNewPassword(x => x.Email).OverridePropertyName("password");
    }
}
