using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Organizations.Queries.GetOrganizationSecurity;

/// <summary>An organization's sign-in policy (<c>GET /api/v1/orgs/{slug}/security</c>), for its owners and admins.</summary>
[RequiresSignedInUser]
public sealed record GetOrganizationSecurity(string Slug) : IQuery<Result<OrganizationSecurityDto>>;

/// <summary>The sign-in policy of an organization.</summary>
/// <param name="RequireTwoFactor">Members must sign in with a second factor; those without one enrol at their next sign-in.</param>
public sealed record OrganizationSecurityDto(bool RequireTwoFactor);

public sealed class GetOrganizationSecurityHandler(ICatalogDbContext db, ICallerContext caller)
    : IQueryHandler<GetOrganizationSecurity, Result<OrganizationSecurityDto>>
{
    public async ValueTask<Result<OrganizationSecurityDto>> Handle(GetOrganizationSecurity query, CancellationToken cancellationToken)
    {
        var found = await db.Memberships.AsNoTracking()
            .Where(m => m.UserId == caller.UserId && m.Organization!.Slug == query.Slug
                        && m.Organization.Status != OrganizationStatus.Deleted)
            .Select(m => new { m.Role, m.Organization!.RequireTwoFactor })
            .FirstOrDefaultAsync(cancellationToken);
        if (found is null)
        {
            return Error.NotFound("Organization", query.Slug);
        }

        return found.Role is OrgRole.Owner or OrgRole.Admin
            ? new OrganizationSecurityDto(found.RequireTwoFactor)
            : Error.Forbidden(ErrorCodes.Forbidden, "Only owners and admins manage the organization's sign-in policy.");
    }
}
