using CleanCrm.Application.Common.Email;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Organizations;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Support.Commands.StartSupportSession;

/// <summary>
/// Opens a read-only support session on one organization for at most an hour (docs/SECURITY.md, "Support access"): the
/// organization's audit log records it and its owners get a mail.
/// </summary>
[RequiresPlatformAdmin]
public sealed record StartSupportSession(Guid OrganizationId, string Reason, int Minutes)
    : ICommand<Result<SupportSessionDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => Reason;
}

public sealed class StartSupportSessionValidator : AbstractValidator<StartSupportSession>
{
    public StartSupportSessionValidator()
    {
        RuleFor(x => x.Reason).Must(r => !string.IsNullOrWhiteSpace(r)).WithMessage("is required: say why you need access.")
            .MaximumLength(SupportSession.MaxReasonLength).WithMessage($"must be at most {SupportSession.MaxReasonLength} characters.");
        RuleFor(x => x.Minutes).InclusiveBetween(1, SupportSession.MaxMinutes)
            .WithMessage($"must be between 1 and {SupportSession.MaxMinutes}.");
    }
}

public sealed class StartSupportSessionHandler(
    ICatalogDbContext db, ITenantDatabaseAccess tenants, IEmailOutbox outbox, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<StartSupportSession, Result<SupportSessionDto>>
{
    public async ValueTask<Result<SupportSessionDto>> Handle(StartSupportSession command, CancellationToken cancellationToken)
    {
        // A session belongs to a person: the CLI and jobs (the system) have nobody who could browse it.
        if (caller.UserId is not { } adminUserId)
        {
            return Error.Forbidden(ErrorCodes.Forbidden, "Support sessions are opened by a signed-in platform admin.");
        }

        if (await OrganizationLookup.FindUndeletedAsync(db, command.OrganizationId, cancellationToken) is not { } organization)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        if (organization.Status is not (OrganizationStatus.Active or OrganizationStatus.Suspended))
        {
            return OrganizationErrors.CannotBe(organization, "opened for support");
        }

        var adminEmail = await db.Users.AsNoTracking().Where(u => u.Id == adminUserId).Select(u => u.Email)
            .FirstOrDefaultAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var session = new SupportSession
        {
            OrganizationId = organization.Id,
            AdminUserId = adminUserId,
            Reason = command.Reason.Trim(),
            StartedAt = now,
            ExpiresAt = now.AddMinutes(command.Minutes),
        };

        // The organization's own log first: a session that its owners cannot see must not exist.
        await tenants.AppendAuditEntryAsync(organization.Id, SupportAuditTrail.StartedEntry(session, adminEmail), cancellationToken);
        db.SupportSessions.Add(session);
        var owners = await db.Memberships.AsNoTracking()
            .Where(m => m.OrganizationId == organization.Id && m.Role == OrgRole.Owner)
            .Select(m => new { m.User!.Email, m.User.Name })
            .ToListAsync(cancellationToken);
        foreach (var owner in owners)
        {
            outbox.Add(SupportEmails.Started(session, owner.Email, owner.Name, organization.Name, adminEmail ?? "A platform admin"));
        }

        await db.SaveChangesAsync(cancellationToken);
        return SupportSessionDto.From(session, adminEmail, now);
    }
}
