using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Tenancy;
using Mediator;

namespace CleanCrm.Application.Common.Behaviors;

/// <summary>Refuses a request whose declared premium feature is off for the organization in scope.</summary>
public sealed class FeatureGateBehavior<TMessage, TResponse>(
    IFeatures features, ITenantContext tenantContext) : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    // Most requests name no feature: they pass straight through (no async state machine of their own).
    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next,
        CancellationToken cancellationToken) =>
        RequestMetadata<TMessage>.Feature is { } feature
            ? GateAsync(feature, message, next, cancellationToken)
            : next(message, cancellationToken);

    private async ValueTask<TResponse> GateAsync(string feature, TMessage message, MessageHandlerDelegate<TMessage, TResponse> next,
        CancellationToken cancellationToken)
    {
        if (tenantContext.Current is { } tenant && await features.IsEnabledAsync(tenant.OrganizationId, feature, cancellationToken))
        {
            return await next(message, cancellationToken);
        }

        return ResultFailure<TResponse>.Create(Error.Forbidden(
            ErrorCodes.FeatureDisabled,
            $"The feature '{feature}' is not included in this organization's plan; upgrade to Pro or Enterprise to use it."));
    }
}
