using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Members.Commands.RemoveMember;

[RequiresPermission(Permission.MembersManage)]
public sealed record RemoveMember(Guid UserId) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class RemoveMemberHandler(
    ICatalogDbContext db, ITenantDbContext tenantDb, ITenantContext tenant, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<RemoveMember, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(RemoveMember command, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var membership = await db.Memberships
            .FirstOrDefaultAsync(m => m.OrganizationId == organizationId && m.UserId == command.UserId, cancellationToken);
        if (membership is null)
        {
            return Error.NotFound("Member", command.UserId);
        }

        if (membership.Role == OrgRole.Owner)
        {
            if (caller.Role != OrgRole.Owner && !caller.IsSystem)
            {
                return Error.Forbidden(ErrorCodes.Forbidden, "Only owners can remove an owner.");
            }

            if (!await MemberRoles.HasAnotherOwnerAsync(db, organizationId, command.UserId, cancellationToken))
            {
                return MemberRoles.LastOwner();
            }
        }

        db.Memberships.Remove(membership);
        await db.SaveChangesAsync(cancellationToken);
        var now = clock.GetUtcNow();
        await tenantDb.Members.Where(m => m.Id == command.UserId)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.IsActive, false).SetProperty(m => m.UpdatedAt, now), cancellationToken);
        return Unit.Value;
    }
}
