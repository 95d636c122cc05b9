using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;

namespace CleanCrm.Application.Billing.Queries.GetFeatures;

/// <summary>The effective feature map of the organization in scope (docs/BILLING.md), every premium key present.</summary>
[RequiresPermission(Permission.OrganizationRead)]
public sealed record GetFeatures : IQuery<Result<IReadOnlyDictionary<string, bool>>>, IOrgScopedRequest;

public sealed class GetFeaturesHandler(IFeatures features, ITenantContext tenant)
    : IQueryHandler<GetFeatures, Result<IReadOnlyDictionary<string, bool>>>
{
    public async ValueTask<Result<IReadOnlyDictionary<string, bool>>> Handle(GetFeatures query, CancellationToken cancellationToken) =>
        Result<IReadOnlyDictionary<string, bool>>.Success(await features.GetAllAsync(tenant.Current!.OrganizationId, cancellationToken));
}
