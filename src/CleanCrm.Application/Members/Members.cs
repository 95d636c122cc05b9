using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Members;

/// <summary>A member of the organization; the id is the user id (SPEC §6.3).</summary>
public sealed record MemberDto(Guid Id, string Email, string Name, string Role, DateTimeOffset JoinedAt);

public sealed record MemberList(IReadOnlyList<MemberDto> Items);

internal static class MemberRoles
{
    public static string Name(OrgRole role) => role.ToString().ToLowerInvariant();

    public static bool TryParse(string? value, out OrgRole role)
    {
        role = default;
        return value is not null && value == value.ToLowerInvariant() && Enum.TryParse(value, ignoreCase: true, out role) && Enum.IsDefined(role);
    }

    public static Error LastOwner() => Error.Conflict(ErrorCodes.Conflict, "An organization always keeps at least one owner; promote another member first.");
}

[RequiresPermission(Permission.MembersRead)]
public sealed record ListMembers : IQuery<Result<MemberList>>, IOrgScopedRequest;

public sealed class ListMembersHandler(ICatalogDbContext db, ITenantContext tenant) : IQueryHandler<ListMembers, Result<MemberList>>
{
    public async ValueTask<Result<MemberList>> Handle(ListMembers query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var rows = await db.Memberships.AsNoTracking()
            .Where(m => m.OrganizationId == organizationId)
            .OrderBy(m => m.User!.Email)
            .Select(m => new { m.UserId, m.User!.Email, m.User.Name, m.Role, m.CreatedAt })
            .ToListAsync(cancellationToken);
        return new MemberList([.. rows.Select(r => new MemberDto(r.UserId, r.Email, r.Name, MemberRoles.Name(r.Role), r.CreatedAt))]);
    }
}

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

public sealed class ChangeMemberRoleHandler(ICatalogDbContext db, ITenantDbContext tenantDb, ITenantContext tenant, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<ChangeMemberRole, Result<MemberDto>>
{
    public async ValueTask<Result<MemberDto>> Handle(ChangeMemberRole command, CancellationToken cancellationToken)
    {
        MemberRoles.TryParse(command.Fields.Role, out var role);
        var organizationId = tenant.Current!.OrganizationId;
        var membership = await db.Memberships.Include(m => m.User).FirstOrDefaultAsync(m => m.OrganizationId == organizationId && m.UserId == command.UserId, cancellationToken);
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
            && !await db.Memberships.AnyAsync(m => m.OrganizationId == organizationId && m.Role == OrgRole.Owner && m.UserId != command.UserId, cancellationToken))
        {
            return MemberRoles.LastOwner();
        }

        membership.Role = role;
        membership.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await tenantDb.Members.Where(m => m.Id == command.UserId).ExecuteUpdateAsync(s => s.SetProperty(m => m.Role, role).SetProperty(m => m.UpdatedAt, membership.UpdatedAt), cancellationToken);
        return new MemberDto(membership.UserId, membership.User!.Email, membership.User.Name, MemberRoles.Name(role), membership.CreatedAt);
    }
}

[RequiresPermission(Permission.MembersManage)]
public sealed record RemoveMember(Guid UserId) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class RemoveMemberHandler(ICatalogDbContext db, ITenantDbContext tenantDb, ITenantContext tenant, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<RemoveMember, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(RemoveMember command, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var membership = await db.Memberships.FirstOrDefaultAsync(m => m.OrganizationId == organizationId && m.UserId == command.UserId, cancellationToken);
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

            if (!await db.Memberships.AnyAsync(m => m.OrganizationId == organizationId && m.Role == OrgRole.Owner && m.UserId != command.UserId, cancellationToken))
            {
                return MemberRoles.LastOwner();
            }
        }

        db.Memberships.Remove(membership);
        await db.SaveChangesAsync(cancellationToken);
        var now = clock.GetUtcNow();
        await tenantDb.Members.Where(m => m.Id == command.UserId).ExecuteUpdateAsync(s => s.SetProperty(m => m.IsActive, false).SetProperty(m => m.UpdatedAt, now), cancellationToken);
        return Unit.Value;
    }
}
