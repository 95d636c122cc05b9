using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Invitations.Queries.GetInvitation;

[RequiresPermission(Permission.MembersManage)]
public sealed record GetInvitation(Guid Id) : IQuery<Result<InvitationDto>>, IOrgScopedRequest;

public sealed class GetInvitationHandler(ICatalogDbContext db, ITenantContext tenant, TimeProvider clock)
    : IQueryHandler<GetInvitation, Result<InvitationDto>>
{
    public async ValueTask<Result<InvitationDto>> Handle(GetInvitation query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var invitation = await db.Invitations.AsNoTracking()
            .FirstOrDefaultAsync(i => i.Id == query.Id && i.OrganizationId == organizationId, cancellationToken);
        return invitation is null ? Error.NotFound("Invitation", query.Id) : InvitationDto.From(invitation, clock.GetUtcNow());
    }
}
