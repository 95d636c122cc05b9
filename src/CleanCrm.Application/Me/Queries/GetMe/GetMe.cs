using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Me.Queries.GetMe;

/// <summary>The signed-in user and the organizations they belong to (<c>GET /api/v1/me</c>).</summary>
[RequiresSignedInUser]
public sealed record GetMe : IQuery<Result<MeDto>>;

public sealed record MeDto(Guid Id, string Email, string Name, IReadOnlyList<MyOrganizationDto> Organizations);

public sealed record MyOrganizationDto(Guid Id, string Slug, string Name, string Role, string Status, string Plan);

public sealed class GetMeHandler(ICatalogDbContext db, ICallerContext caller) : IQueryHandler<GetMe, Result<MeDto>>
{
    public async ValueTask<Result<MeDto>> Handle(GetMe query, CancellationToken cancellationToken)
    {
        var userId = caller.UserId!.Value;
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
        if (user is null)
        {
            return Error.NotFound("User", userId);
        }

        var organizations = await db.Memberships.AsNoTracking()
            .Where(m => m.UserId == userId && m.Organization!.Status != OrganizationStatus.Deleted)
            .OrderBy(m => m.Organization!.Slug)
            .Select(m => new
            {
                m.Organization!.Id,
                m.Organization.Slug,
                m.Organization.Name,
                m.Role,
                m.Organization.Status,
                m.Organization.PlanKey,
            })
            .ToListAsync(cancellationToken);
        return new MeDto(
            user.Id,
            user.Email,
            user.Name,
            [
                .. organizations.Select(o =>
                    new MyOrganizationDto(o.Id, o.Slug, o.Name, Lower(o.Role.ToString()), Lower(o.Status.ToString()), o.PlanKey)),
            ]);
    }

    private static string Lower(string value) => value.ToLowerInvariant();
}
