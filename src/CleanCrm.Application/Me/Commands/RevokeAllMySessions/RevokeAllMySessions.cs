using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;

namespace CleanCrm.Application.Me.Commands.RevokeAllMySessions;

/// <summary>Signs the caller out everywhere (<c>POST /api/v1/me/sessions/revoke-all</c>), including this session.</summary>
[RequiresSignedInUser]
public sealed record RevokeAllMySessions : ICommand<Result<RevokedSessionsDto>>;

/// <summary>How many sessions were still valid and are now revoked.</summary>
public sealed record RevokedSessionsDto(int Revoked);

public sealed class RevokeAllMySessionsHandler(IUserSessions sessions, ICallerContext caller)
    : ICommandHandler<RevokeAllMySessions, Result<RevokedSessionsDto>>
{
    public async ValueTask<Result<RevokedSessionsDto>> Handle(RevokeAllMySessions command, CancellationToken cancellationToken) =>
        new RevokedSessionsDto(await sessions.RevokeAllAsync(caller.UserId!.Value, cancellationToken));
}
