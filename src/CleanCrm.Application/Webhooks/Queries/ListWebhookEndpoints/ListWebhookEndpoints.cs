using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Webhooks.Queries.ListWebhookEndpoints;

public sealed record WebhookEndpointList(IReadOnlyList<WebhookEndpointDto> Items);

/// <summary>The organization's live webhook endpoints, oldest first (an organization has a handful).</summary>
[RequiresPermission(Permission.IntegrationsManage)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record ListWebhookEndpoints : IQuery<Result<WebhookEndpointList>>, IOrgScopedRequest;

public sealed class ListWebhookEndpointsHandler(ITenantDbContext db) : IQueryHandler<ListWebhookEndpoints, Result<WebhookEndpointList>>
{
    public async ValueTask<Result<WebhookEndpointList>> Handle(ListWebhookEndpoints query, CancellationToken cancellationToken)
    {
        var endpoints = await db.WebhookEndpoints.AsNoTracking().Where(e => e.DeletedAt == null)
            .OrderBy(e => e.CreatedAt).ThenBy(e => e.Id).Take(1000).ToListAsync(cancellationToken);
        return new WebhookEndpointList([.. endpoints.Select(WebhookEndpointDto.From)]);
    }
}
