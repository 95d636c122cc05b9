using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Webhooks.Commands.UpdateWebhookEndpoint;

/// <summary>The fields a merge patch may change; <c>status: "enabled"</c> turns a disabled endpoint back on.</summary>
public sealed record WebhookEndpointPatch(string? Url, IReadOnlyList<string>? Events, WebhookEndpointStatus? Status);

/// <summary>Changes the URL, the events or the status of an endpoint (JSON merge patch, If-Match).</summary>
[RequiresPermission(Permission.IntegrationsManage)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record UpdateWebhookEndpoint(Guid Id, JsonElement Patch, uint? IfMatch)
    : ICommand<Result<WebhookEndpointDto>>, IOrgScopedRequest;

public sealed class UpdateWebhookEndpointHandler(ITenantDbContext db, ICallerContext caller, IOutboundTargets targets, TimeProvider clock)
    : ICommandHandler<UpdateWebhookEndpoint, Result<WebhookEndpointDto>>
{
    private static readonly WebhookEndpointFieldsValidator Validator = new();

    public async ValueTask<Result<WebhookEndpointDto>> Handle(UpdateWebhookEndpoint command, CancellationToken cancellationToken)
    {
        var found = await CrmRecords.FindToWriteAsync(db, db.WebhookEndpoints, WebhookEndpointRecord.Resource, command.Id, command.IfMatch,
            cancellationToken);
        if (!found.IsSuccess)
        {
            return found.Error!;
        }

        var endpoint = found.Value;
        var current = new WebhookEndpointPatch(endpoint.Url, endpoint.Events, endpoint.Status);
        var merged = Common.Json.JsonMergePatch.Apply(current, command.Patch);
        if (!merged.IsSuccess)
        {
            return merged.Error!;
        }

        var patch = merged.Value;
        var validation = await Validator.ValidateAsync(new WebhookEndpointFields(patch.Url, patch.Events), cancellationToken);
        if (!validation.IsValid)
        {
            return Common.Behaviors.ValidationErrors.From(validation.Errors);
        }

        if (patch.Status is null)
        {
            return Error.Validation("status", "status must be 'enabled' or 'disabled'.");
        }

        if (patch.Url != endpoint.Url && await WebhookTargets.CheckAsync(targets, patch.Url!, cancellationToken) is { } refused)
        {
            return refused;
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        endpoint.Url = patch.Url!;
        endpoint.Events = WebhookTargets.Normalize(patch.Events!);
        if (patch.Status != endpoint.Status)
        {
            endpoint.Status = patch.Status.Value;
            endpoint.DisabledAt = patch.Status == WebhookEndpointStatus.Disabled ? stamp.Now : null;
            endpoint.DisabledReason = patch.Status == WebhookEndpointStatus.Disabled ? "Disabled by a user." : null;
        }

        stamp.Touch(endpoint);
        var error = await CrmRecords.SaveAsync(db, WebhookEndpointRecord.Resource, endpoint.Id, null, cancellationToken);
        return error is null ? WebhookEndpointDto.From(endpoint) : error;
    }
}
