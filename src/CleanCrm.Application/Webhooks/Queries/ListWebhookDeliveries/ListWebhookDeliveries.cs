using System.Globalization;
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
    private const string Sort = "-sequence";

    public async ValueTask<Result<Page<WebhookDeliveryDto>>> Handle(ListWebhookDeliveries query, CancellationToken cancellationToken)
    {
        var limit = query.Limit ?? Cursor.DefaultLimit;
        if (limit is < 1 or > Cursor.MaxLimit)
        {
            return Error.Validation("limit", $"limit must be between 1 and {Cursor.MaxLimit}.");
        }

        if (!Cursor.TryDecode(query.Cursor, Sort, out var cursor)
            || (cursor is not null && !long.TryParse(cursor.Value, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return Error.Validation("cursor", "cursor is not a cursor of this list; pass back nextCursor unchanged.");
        }

        if (!await db.WebhookEndpoints.AnyAsync(e => e.Id == query.EndpointId && e.DeletedAt == null, cancellationToken))
        {
            return Error.NotFound(WebhookEndpointRecord.Resource, query.EndpointId);
        }

        var deliveries = db.WebhookDeliveries.AsNoTracking().Where(d => d.EndpointId == query.EndpointId);
        if (cursor is not null)
        {
            var after = long.Parse(cursor.Value!, CultureInfo.InvariantCulture);
            deliveries = deliveries.Where(d => d.Sequence < after);
        }

        var page = await deliveries.OrderByDescending(d => d.Sequence).Take(limit + 1)
            .Include(d => d.AttemptLog.OrderByDescending(a => a.AttemptedAt).Take(20))
            .ToListAsync(cancellationToken);
        var items = page.Take(limit).Select(d => new WebhookDeliveryDto(d.Id, d.EventId, d.EventType, d.Status, d.Attempts, d.CreatedAt,
            d.NextAttemptAt, d.LastAttemptAt, d.LastResponseStatus, d.LastError, d.DeliveredAt,
            [.. d.AttemptLog.Select(a => new WebhookAttemptDto(a.AttemptedAt, a.ResponseStatus, a.Error, a.DurationMs, a.Manual))]))
            .ToList();
        var next = page.Count > limit
            ? new Cursor(Sort, page[limit - 1].Sequence.ToString(CultureInfo.InvariantCulture), page[limit - 1].Id).Encode()
            : null;
        return new Page<WebhookDeliveryDto>(items, next);
    }
}
