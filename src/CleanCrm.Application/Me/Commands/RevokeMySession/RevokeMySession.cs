using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;

namespace CleanCrm.Application.Me.Commands.RevokeMySession;

/// <summary>Revokes one of the caller's sessions (<c>DELETE /api/v1/me/sessions/{id}</c>); another user's session is 404.</summary>
[RequiresSignedInUser]
public sealed record RevokeMySession(Guid SessionId) : ICommand<Result<bool>>;

public sealed class RevokeMySessionHandler(IUserSessions sessions, ICallerContext caller) : ICommandHandler<RevokeMySession, Result<bool>>
{
    public async ValueTask<Result<bool>> Handle(RevokeMySession command, CancellationToken cancellationToken) =>
        await sessions.RevokeAsync(caller.UserId!.Value, command.SessionId, cancellationToken)
            ? true
            : Error.NotFound("Session", command.SessionId);
}
