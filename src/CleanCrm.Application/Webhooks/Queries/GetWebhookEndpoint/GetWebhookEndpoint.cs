using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Webhooks.Queries.GetWebhookEndpoint;

[RequiresPermission(Permission.IntegrationsManage)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record GetWebhookEndpoint(Guid Id) : IQuery<Result<WebhookEndpointDto>>, IOrgScopedRequest;

public sealed class GetWebhookEndpointHandler(ITenantDbContext db) : IQueryHandler<GetWebhookEndpoint, Result<WebhookEndpointDto>>
{
    public async ValueTask<Result<WebhookEndpointDto>> Handle(GetWebhookEndpoint query, CancellationToken cancellationToken)
    {
        var endpoint = await db.WebhookEndpoints.AsNoTracking().FirstOrDefaultAsync(e => e.Id == query.Id && e.DeletedAt == null,
            cancellationToken);
        return endpoint is null ? Error.NotFound(WebhookEndpointRecord.Resource, query.Id) : WebhookEndpointDto.From(endpoint);
    }
}
