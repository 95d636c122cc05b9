using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;

namespace CleanCrm.Application.Billing.Queries.GetEntitlements;

[RequiresPermission(Permission.OrganizationRead)]
public sealed record GetEntitlements : IQuery<Result<EntitlementsDto>>, IOrgScopedRequest;

public sealed class GetEntitlementsHandler(IEntitlements entitlements, ITenantContext tenant)
    : IQueryHandler<GetEntitlements, Result<EntitlementsDto>>
{
    public async ValueTask<Result<EntitlementsDto>> Handle(GetEntitlements query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        return await entitlements.GetAsync(organizationId, cancellationToken) is { } dto
            ? dto
            : Error.NotFound("Organization", organizationId);
    }
}
