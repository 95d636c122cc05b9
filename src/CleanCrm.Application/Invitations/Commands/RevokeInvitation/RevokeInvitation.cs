using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Invitations.Commands.RevokeInvitation;

[RequiresPermission(Permission.MembersManage)]
public sealed record RevokeInvitation(Guid Id) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class RevokeInvitationHandler(ICatalogDbContext db, ITenantContext tenant, TimeProvider clock)
    : ICommandHandler<RevokeInvitation, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(RevokeInvitation command, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var now = clock.GetUtcNow();
        var revoked = await db.Invitations
            .Where(i => i.Id == command.Id && i.OrganizationId == organizationId && i.AcceptedAt == null && i.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.RevokedAt, now).SetProperty(i => i.UpdatedAt, now), cancellationToken);
        return revoked == 0 ? Error.NotFound("Invitation", command.Id) : Unit.Value;
    }
}
