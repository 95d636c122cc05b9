using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Webhooks.Commands.RedeliverWebhook;

/// <summary>Queues one more attempt of a delivery now (the same signed message id, a fresh timestamp and signature).</summary>
[RequiresPermission(Permission.IntegrationsManage)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record RedeliverWebhook(Guid EndpointId, Guid DeliveryId) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class RedeliverWebhookHandler(ITenantDbContext db, ITenantContext tenant, IWebhookDeliveryQueue queue)
    : ICommandHandler<RedeliverWebhook, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(RedeliverWebhook command, CancellationToken cancellationToken)
    {
        var endpoint = await db.WebhookEndpoints.AsNoTracking()
            .FirstOrDefaultAsync(e => e.Id == command.EndpointId && e.DeletedAt == null, cancellationToken);
        if (endpoint is null)
        {
            return Error.NotFound(WebhookEndpointRecord.Resource, command.EndpointId);
        }

        if (!await db.WebhookDeliveries.AnyAsync(d => d.Id == command.DeliveryId && d.EndpointId == endpoint.Id, cancellationToken))
        {
            return Error.NotFound("Webhook delivery", command.DeliveryId);
        }

        if (endpoint.Status == WebhookEndpointStatus.Disabled)
        {
            return Error.Conflict("endpoint_disabled",
                $"Webhook endpoint '{endpoint.Id}' is disabled; enable it (PATCH status 'enabled') before redelivering.");
        }

        queue.Redeliver(tenant.Current!.OrganizationId, command.DeliveryId);
        return Unit.Value;
    }
}
