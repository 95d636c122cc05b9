using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Invitations.Queries.ListInvitations;

/// <summary>Pending invitations (accepted, revoked and expired ones are history).</summary>
[RequiresPermission(Permission.MembersManage)]
public sealed record ListInvitations : IQuery<Result<InvitationList>>, IOrgScopedRequest;

public sealed record InvitationList(IReadOnlyList<InvitationDto> Items);

public sealed class ListInvitationsHandler(ICatalogDbContext db, ITenantContext tenant, TimeProvider clock)
    : IQueryHandler<ListInvitations, Result<InvitationList>>
{
    public async ValueTask<Result<InvitationList>> Handle(ListInvitations query, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var organizationId = tenant.Current!.OrganizationId;
        var rows = await db.Invitations.AsNoTracking()
            .Where(i => i.OrganizationId == organizationId && i.AcceptedAt == null && i.RevokedAt == null && i.ExpiresAt > now)
            .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id)
            .ToListAsync(cancellationToken);
        return new InvitationList([.. rows.Select(i => InvitationDto.From(i, now))]);
    }
}
