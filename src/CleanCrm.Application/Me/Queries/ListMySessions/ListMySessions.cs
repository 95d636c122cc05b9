using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;

namespace CleanCrm.Application.Me.Queries.ListMySessions;

/// <summary>The caller's sign-in sessions (<c>GET /api/v1/me/sessions</c>).</summary>
/// <param name="CurrentSessionId">The session of the token that made the request, marked as current.</param>
[RequiresSignedInUser]
public sealed record ListMySessions(Guid? CurrentSessionId) : IQuery<Result<IReadOnlyList<SessionDto>>>;

public sealed class ListMySessionsHandler(IUserSessions sessions, ICallerContext caller)
    : IQueryHandler<ListMySessions, Result<IReadOnlyList<SessionDto>>>
{
    public async ValueTask<Result<IReadOnlyList<SessionDto>>> Handle(ListMySessions query, CancellationToken cancellationToken)
    {
        var list = await sessions.ListAsync(caller.UserId!.Value, cancellationToken);
        return Result<IReadOnlyList<SessionDto>>.Success([.. list.Select(s => SessionDto.From(s, query.CurrentSessionId))]);
    }
}
