using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Webhooks.Queries.ListWebhookDeliveries;

/// <summary>The delivery log of an endpoint, newest first, each delivery with its attempts and their response codes.</summary>
[RequiresPermission(Permission.IntegrationsManage)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record ListWebhookDeliveries(Guid EndpointId, int? Limit, string? Cursor)
    : IQuery<Result<Page<WebhookDeliveryDto>>>, IOrgScopedRequest;

public sealed class ListWebhookDeliveriesHandler(ITenantDbContext db)
    : IQueryHandler<ListWebhookDeliveries, Result<Page<WebhookDeliveryDto>>>
{
    public async ValueTask<Result<Page<WebhookDeliveryDto>>> Handle(ListWebhookDeliveries query, CancellationToken cancellationToken)
    {
        if (LogPage.Read(query.Limit, query.Cursor, out var limit, out var before) is { } invalid)
        {
            return invalid;
        }

        if (!await db.WebhookEndpoints.AnyAsync(e => e.Id == query.EndpointId && e.DeletedAt == null, cancellationToken))
        {
            return Error.NotFound(WebhookEndpointRecord.Resource, query.EndpointId);
        }

        var deliveries = db.WebhookDeliveries.AsNoTracking().Where(d => d.EndpointId == query.EndpointId);
        if (before is { } last)
        {
            deliveries = deliveries.Where(d => d.Sequence < last);
        }

        var page = await deliveries.OrderByDescending(d => d.Sequence).Take(limit + 1)
            .Include(d => d.AttemptLog.OrderByDescending(a => a.AttemptedAt).Take(20))
            .ToListAsync(cancellationToken);
        return LogPage.From(page, limit, d => d.Sequence, d => d.Id, d => new WebhookDeliveryDto(d.Id, d.EventId, d.EventType,
            d.Status, d.Attempts, d.CreatedAt, d.NextAttemptAt, d.LastAttemptAt, d.LastResponseStatus, d.LastError, d.DeliveredAt,
            [.. d.AttemptLog.Select(a => new WebhookAttemptDto(a.AttemptedAt, a.ResponseStatus, a.Error, a.DurationMs, a.Manual))]));
    }
}
