using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Invitations;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Sso.Commands.SignInWithSso;

/// <summary>
/// The account behind an identity provider's verified email (docs/SECURITY.md, "Enterprise SSO"): the organization's
/// member with that email, or (just-in-time provisioning) a new user with a membership in the provider's default role. An
/// existing user who is not a member is refused: the provider's domains are not proven, so it must not reach accounts
/// outside its organization. Sent by the SSO callback after the ID token was validated.
/// </summary>
[AllowAnonymousRequest]
public sealed record SignInWithSso(Guid ProviderId, string Email, string? Name) : ICommand<Result<Guid>>;

public sealed class SignInWithSsoHandler(ICatalogDbContext db, IBillingProfiles profiles, ITenantMemberSync members, TimeProvider clock)
    : ICommandHandler<SignInWithSso, Result<Guid>>
{
    public async ValueTask<Result<Guid>> Handle(SignInWithSso command, CancellationToken cancellationToken)
    {
        var provider = await db.IdentityProviders.AsNoTracking().Include(p => p.Domains)
            .FirstOrDefaultAsync(p => p.Id == command.ProviderId, cancellationToken);
        var email = command.Email.Trim();
        var domain = email[(email.LastIndexOf('@') + 1)..].ToLowerInvariant();
        if (provider is null || provider.Domains.All(d => d.Domain != domain))
        {
            return Error.Forbidden("sso_domain_not_allowed", "This identity provider may not sign in addresses of that domain.");
        }

        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.LockOrganizationAsync(provider.OrganizationId, cancellationToken);
        var organization = await db.Organizations.FirstAsync(o => o.Id == provider.OrganizationId, cancellationToken);
        if (organization.Status != OrganizationStatus.Active || organization.PlanKey != Plan.Enterprise)
        {
            return Error.Forbidden(ErrorCodes.Forbidden, $"Organization '{organization.Slug}' does not offer single sign-on now.");
        }

        var normalized = UserAccount.Normalize(email);
        var user = await db.Users.FirstOrDefaultAsync(u => u.NormalizedEmail == normalized, cancellationToken);
        if (user is not null)
        {
            return await db.Memberships.AnyAsync(m => m.OrganizationId == organization.Id && m.UserId == user.Id, cancellationToken)
                ? user.Id
                : Error.Forbidden("sso_not_member",
                    $"{email} has an account that is not a member of {organization.Name}; ask an owner to invite it.");
        }

        if (!provider.JitProvisioning)
        {
            return Error.Forbidden("sso_no_account", $"{email} has no account; ask an owner of {organization.Name} to invite you.");
        }

        if ((await profiles.GetAsync(organization.Id, cancellationToken))?.Limits.Seats is { } limit
            && await db.Memberships.CountAsync(m => m.OrganizationId == organization.Id, cancellationToken) + 1 > limit)
        {
            return InvitationErrors.SeatLimit(limit, limit);
        }

        user = new UserAccount
        {
            Email = email,
            NormalizedEmail = normalized,
            Name = string.IsNullOrWhiteSpace(command.Name) ? email[..email.IndexOf('@')] : command.Name.Trim(),
            CreatedAt = now,
        };
        db.Users.Add(user);

        // The tenant's member row first, as invitations do: the membership never exists without it.
        await members.UpsertAsync(organization.Id, user.Id, user.Email, user.Name, provider.DefaultRole, cancellationToken);
        db.Memberships.Add(new Membership
        {
            OrganizationId = organization.Id,
            UserId = user.Id,
            Role = provider.DefaultRole,
            CreatedAt = now,
            UpdatedAt = now,
        });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return user.Id;
    }
}
