using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Organizations.Queries.GetProvisioningStatus;

/// <summary>The live state of an organization's latest provisioning run, for its owners (docs/OPERATIONS.md).</summary>
[RequiresSignedInUser]
public sealed record GetProvisioningStatus(string Slug) : IQuery<Result<ProvisioningStatusDto>>;

public sealed record ProvisioningStatusDto(string Status, int Attempt, string? Error, IReadOnlyList<ProvisioningStepDto> Steps);

public sealed record ProvisioningStepDto(string Name, string Status, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error);

public sealed class GetProvisioningStatusHandler(ICatalogDbContext db, ICallerContext caller)
    : IQueryHandler<GetProvisioningStatus, Result<ProvisioningStatusDto>>
{
    public async ValueTask<Result<ProvisioningStatusDto>> Handle(GetProvisioningStatus query, CancellationToken cancellationToken)
    {
        var organization = await db.Organizations.AsNoTracking()
            .Where(o => o.Slug == query.Slug)
            .Where(o => caller.IsPlatformAdmin
                        || db.Memberships.Any(m => m.OrganizationId == o.Id && m.UserId == caller.UserId && m.Role == OrgRole.Owner))
            .Select(o => new { o.Id, o.Status })
            .FirstOrDefaultAsync(cancellationToken);
        if (organization is null)
        {
            return Error.NotFound("Organization", query.Slug);
        }

        var run = await db.ProvisioningRuns.AsNoTracking().Include(r => r.Steps)
            .Where(r => r.OrganizationId == organization.Id)
            .OrderByDescending(r => r.CreatedAt)
            .FirstOrDefaultAsync(cancellationToken);
        var steps = run?.Steps.OrderBy(s => s.Position)
            .Select(s => new ProvisioningStepDto(s.Name, Lower(s.Status), s.StartedAt, s.FinishedAt, s.Error))
            .ToList() ?? [];
        return new ProvisioningStatusDto(Lower(organization.Status), run?.Attempt ?? 0, run?.Error, steps);
    }

    private static string Lower<TEnum>(TEnum value)
        where TEnum : struct, Enum => value.ToString().ToLowerInvariant();
}
