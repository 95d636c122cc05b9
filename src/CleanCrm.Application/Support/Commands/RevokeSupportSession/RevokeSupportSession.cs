using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Support.Commands.RevokeSupportSession;

/// <summary>Ends a support session now (any platform admin may); ending one that is already over changes nothing.</summary>
[RequiresPlatformAdmin]
public sealed record RevokeSupportSession(Guid SessionId) : ICommand<Result<SupportSessionDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => null;

    string? IPlatformAuditedRequest.AuditReason => null;

    Guid? IPlatformAuditedRequest.AuditTargetId => SessionId;
}

public sealed class RevokeSupportSessionHandler(ICatalogDbContext db, ITenantDatabaseAccess tenants, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<RevokeSupportSession, Result<SupportSessionDto>>
{
    public async ValueTask<Result<SupportSessionDto>> Handle(RevokeSupportSession command, CancellationToken cancellationToken)
    {
        if (await db.SupportSessions.FirstOrDefaultAsync(s => s.Id == command.SessionId, cancellationToken) is not { } session)
        {
            return Error.NotFound("Support session", command.SessionId);
        }

        var now = clock.GetUtcNow();
        if (session.IsActiveAt(now))
        {
            session.RevokedAt = now;
            session.RevokedBy = caller.UserId;
            await tenants.AppendAuditEntryAsync(session.OrganizationId, SupportAuditTrail.RevokedEntry(session, caller.UserId),
                cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
        }

        var adminEmail = await db.Users.AsNoTracking().Where(u => u.Id == session.AdminUserId).Select(u => u.Email)
            .FirstOrDefaultAsync(cancellationToken);
        return SupportSessionDto.From(session, adminEmail, now);
    }
}
