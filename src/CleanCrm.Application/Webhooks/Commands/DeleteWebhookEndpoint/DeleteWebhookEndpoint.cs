using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;

namespace CleanCrm.Application.Webhooks.Commands.DeleteWebhookEndpoint;

/// <summary>Deletes an endpoint (soft): nothing more is delivered to it, pending deliveries give up.</summary>
[RequiresPermission(Permission.IntegrationsManage)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record DeleteWebhookEndpoint(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteWebhookEndpointHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<DeleteWebhookEndpoint, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(DeleteWebhookEndpoint command, CancellationToken cancellationToken)
    {
        var found = await CrmRecords.FindToWriteAsync(db, db.WebhookEndpoints, WebhookEndpointRecord.Resource, command.Id, command.IfMatch,
            cancellationToken);
        if (!found.IsSuccess)
        {
            return found.Error!;
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        found.Value.DeletedAt = stamp.Now;
        stamp.Touch(found.Value);
        var error = await CrmRecords.SaveAsync(db, WebhookEndpointRecord.Resource, command.Id, null, cancellationToken);
        return error is null ? Unit.Value : error;
    }
}
