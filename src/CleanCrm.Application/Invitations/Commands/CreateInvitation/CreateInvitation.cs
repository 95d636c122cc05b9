using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Email;
using CleanCrm.Application.Common.Persistence;
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

namespace CleanCrm.Application.Invitations.Commands.CreateInvitation;

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
    ICatalogDbContext db,
    ITenantContext tenant,
    ICallerContext caller,
    IBillingProfiles profiles,
    IEmailOutbox outbox,
    IPublicLinks links,
    IOptions<InvitationOptions> options,
    TimeProvider clock) : ICommandHandler<CreateInvitation, Result<InvitationDto>>
{
    public async ValueTask<Result<InvitationDto>> Handle(CreateInvitation command, CancellationToken cancellationToken)
    {
        MemberRoles.TryParse(command.Fields.Role!, out var role);
        if (role == OrgRole.Owner && caller.Role != OrgRole.Owner && !caller.IsSystem)
        {
            return Error.Forbidden(ErrorCodes.Forbidden, "Only owners can invite owners.");
        }

        var organization = tenant.Current!;
        var organizationId = organization.OrganizationId;
        var email = command.Fields.Email!.Trim();
        var normalized = UserAccount.Normalize(email);
        var now = clock.GetUtcNow();
        var alreadyMember = await db.Memberships.AnyAsync(
            m => m.OrganizationId == organizationId && m.User!.NormalizedEmail == normalized, cancellationToken);
        if (alreadyMember)
        {
            return new Error(ErrorType.Conflict, "already_member", $"{email} is already a member of this organization.")
            {
                Errors = new Dictionary<string, string[]> { ["email"] = ["is already a member."] },
            };
        }

        // Serialize seat accounting per organization: two concurrent invitations cannot both take the last seat.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.LockOrganizationAsync(organizationId, cancellationToken);

        var existing = await db.Invitations.FirstOrDefaultAsync(
            i => i.OrganizationId == organizationId && i.NormalizedEmail == normalized && i.AcceptedAt == null && i.RevokedAt == null,
            cancellationToken);
        if ((await profiles.GetAsync(organizationId, cancellationToken))?.Limits.Seats is { } limit)
        {
            var members = await db.Memberships.CountAsync(m => m.OrganizationId == organizationId, cancellationToken);
            var pending = await db.Invitations.CountAsync(
                i => i.OrganizationId == organizationId && i.AcceptedAt == null && i.RevokedAt == null && i.ExpiresAt > now
                     && i.NormalizedEmail != normalized,
                cancellationToken);
            if (members + pending + 1 > limit)
            {
                return InvitationErrors.SeatLimit(limit, members + pending);
            }
        }

        var token = InvitationTokens.NewToken();
        var invitation = existing ?? new Invitation
        {
            OrganizationId = organizationId,
            Email = email,
            NormalizedEmail = normalized,
            TokenHash = string.Empty,
            CreatedAt = now,
        };
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

        var inviter = caller.UserId is { } userId
            ? await db.Users.Where(u => u.Id == userId).Select(u => u.Name).FirstOrDefaultAsync(cancellationToken)
            : null;
        outbox.Add(EmailTemplates.Invitation(
            organizationId,
            email,
            organization.Name,
            inviter ?? "An administrator",
            MemberRoles.Name(role),
            links.InvitationAcceptPage(token),
            invitation.ExpiresAt));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return InvitationDto.From(invitation, now);
    }
}
