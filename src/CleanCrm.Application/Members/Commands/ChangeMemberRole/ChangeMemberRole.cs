using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Members.Commands.ChangeMemberRole;

public sealed record ChangeMemberRoleFields
{
    public string? Role { get; init; }
}

[RequiresPermission(Permission.MembersManage)]
public sealed record ChangeMemberRole(Guid UserId, ChangeMemberRoleFields Fields) : ICommand<Result<MemberDto>>, IOrgScopedRequest;

public sealed class ChangeMemberRoleValidator : AbstractValidator<ChangeMemberRole>
{
    public ChangeMemberRoleValidator() =>
        RuleFor(x => x.Fields.Role).Must(role => MemberRoles.TryParse(role, out _))
            .WithMessage("must be one of owner, admin, member, readonly, auditor.")
            .OverridePropertyName("role");
}

public sealed class ChangeMemberRoleHandler(
    ICatalogDbContext db, ITenantDbContext tenantDb, ITenantContext tenant, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<ChangeMemberRole, Result<MemberDto>>
{
    public async ValueTask<Result<MemberDto>> Handle(ChangeMemberRole command, CancellationToken cancellationToken)
    {
        MemberRoles.TryParse(command.Fields.Role, out var role);
        var organizationId = tenant.Current!.OrganizationId;
        var membership = await db.Memberships.Include(m => m.User)
            .FirstOrDefaultAsync(m => m.OrganizationId == organizationId && m.UserId == command.UserId, cancellationToken);
        if (membership is null)
        {
            return Error.NotFound("Member", command.UserId);
        }

        // Only owners hand out or take away ownership.
        if ((role == OrgRole.Owner || membership.Role == OrgRole.Owner) && caller.Role != OrgRole.Owner && !caller.IsSystem)
        {
            return Error.Forbidden(ErrorCodes.Forbidden, "Only owners can grant or remove the owner role.");
        }

        if (membership.Role == OrgRole.Owner && role != OrgRole.Owner
            && !await MemberRoles.HasAnotherOwnerAsync(db, organizationId, command.UserId, cancellationToken))
        {
            return MemberRoles.LastOwner();
        }

        membership.Role = role;
        membership.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await tenantDb.Members.Where(m => m.Id == command.UserId)
            .ExecuteUpdateAsync(
                s => s.SetProperty(m => m.Role, role).SetProperty(m => m.UpdatedAt, membership.UpdatedAt), cancellationToken);
        var user = membership.User!;
        return new MemberDto(membership.UserId, user.Email, user.Name, MemberRoles.Name(role), membership.CreatedAt);
    }
}
