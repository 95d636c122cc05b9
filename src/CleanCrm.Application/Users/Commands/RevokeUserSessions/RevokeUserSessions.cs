using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Me.Commands.RevokeAllMySessions;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Users.Commands.RevokeUserSessions;

/// <summary>Signs a user out everywhere (<c>POST /api/v1/admin/users/{id}/revoke-sessions</c>), e.g. after a stolen laptop.</summary>
[RequiresPlatformAdmin]
public sealed record RevokeUserSessions(Guid UserId) : ICommand<Result<RevokedSessionsDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => null;

    string? IPlatformAuditedRequest.AuditReason => null;

    Guid? IPlatformAuditedRequest.AuditTargetId => UserId;
}

public sealed class RevokeUserSessionsHandler(ICatalogDbContext db, IUserSessions sessions)
    : ICommandHandler<RevokeUserSessions, Result<RevokedSessionsDto>>
{
    public async ValueTask<Result<RevokedSessionsDto>> Handle(RevokeUserSessions command, CancellationToken cancellationToken)
    {
        if (!await db.Users.AnyAsync(u => u.Id == command.UserId, cancellationToken))
        {
            return Error.NotFound("User", command.UserId);
        }

        return new RevokedSessionsDto(await sessions.RevokeAllAsync(command.UserId, cancellationToken));
    }
}
