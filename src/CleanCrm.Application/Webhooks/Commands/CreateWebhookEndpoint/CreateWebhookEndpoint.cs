using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Webhooks.Commands.CreateWebhookEndpoint;

/// <summary>Registers a URL of the customer's systems for the named events; the answer holds the signing secret, once.</summary>
[RequiresPermission(Permission.IntegrationsManage)]
[RequiresFeature(PremiumFeatures.Workflows)]
public sealed record CreateWebhookEndpoint(WebhookEndpointFields Fields) : ICommand<Result<CreatedWebhookEndpointDto>>, IOrgScopedRequest;

public sealed class CreateWebhookEndpointValidator : AbstractValidator<CreateWebhookEndpoint>
{
    public CreateWebhookEndpointValidator() => RuleFor(x => x.Fields).SetValidator(new WebhookEndpointFieldsValidator());
}

public sealed class CreateWebhookEndpointHandler(
    ITenantDbContext db, ICallerContext caller, IWebhookSecrets secrets, IOutboundTargets targets, TimeProvider clock)
    : ICommandHandler<CreateWebhookEndpoint, Result<CreatedWebhookEndpointDto>>
{
    public async ValueTask<Result<CreatedWebhookEndpointDto>> Handle(CreateWebhookEndpoint command, CancellationToken cancellationToken)
    {
        var fields = command.Fields;
        if (await WebhookTargets.CheckAsync(targets, fields.Url!, cancellationToken) is { } refused)
        {
            return refused;
        }

        var secret = secrets.Create();
        var endpoint = new WriteStamp(clock.GetUtcNow(), caller.UserId).Stamp(new WebhookEndpoint
        {
            Url = fields.Url!,
            Events = WebhookTargets.Normalize(fields.Events!),
            ProtectedSecret = secret.Protected,
            Status = WebhookEndpointStatus.Enabled,
        });
        db.WebhookEndpoints.Add(endpoint);
        var error = await CrmRecords.SaveAsync(db, WebhookEndpointRecord.Resource, endpoint.Id, null, cancellationToken);
        return error is null
            ? new CreatedWebhookEndpointDto(endpoint.Id, endpoint.Url, endpoint.Events, endpoint.Status, secret.Secret, endpoint.CreatedAt,
                endpoint.UpdatedAt)
            { Version = endpoint.Version }
            : error;
    }
}
