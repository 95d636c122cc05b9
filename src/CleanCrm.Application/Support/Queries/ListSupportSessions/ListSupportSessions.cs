using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Support.Queries.ListSupportSessions;

/// <summary>Support sessions, newest first, of one organization or all; <c>ActiveOnly</c> keeps the open ones.</summary>
[RequiresPlatformAdmin]
public sealed record ListSupportSessions(Guid? OrganizationId = null, bool? ActiveOnly = null) : IQuery<Result<SupportSessionList>>;

public sealed class ListSupportSessionsHandler(ICatalogDbContext db, TimeProvider clock)
    : IQueryHandler<ListSupportSessions, Result<SupportSessionList>>
{
    // Sessions are rare, short and hand-made; the newest few hundred are the whole useful history for a screen.
    private const int MaxItems = 200;

    public async ValueTask<Result<SupportSessionList>> Handle(ListSupportSessions query, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var sessions = db.SupportSessions.AsNoTracking();
        if (query.OrganizationId is { } organizationId)
        {
            sessions = sessions.Where(s => s.OrganizationId == organizationId);
        }

        if (query.ActiveOnly == true)
        {
            sessions = sessions.Where(s => s.RevokedAt == null && s.ExpiresAt > now);
        }

        var rows = await sessions.OrderByDescending(s => s.StartedAt).ThenByDescending(s => s.Id).Take(MaxItems)
            .GroupJoin(db.Users, s => s.AdminUserId, u => u.Id, (s, users) => new { s, users })
            .SelectMany(x => x.users.DefaultIfEmpty(), (x, u) => new { Session = x.s, Email = u == null ? null : u.Email })
            .ToListAsync(cancellationToken);
        return new SupportSessionList([.. rows.OrderByDescending(r => r.Session.StartedAt).ThenByDescending(r => r.Session.Id)
            .Select(r => SupportSessionDto.From(r.Session, r.Email, now))]);
    }
}
