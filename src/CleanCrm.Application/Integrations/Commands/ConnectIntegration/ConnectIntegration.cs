using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;

namespace CleanCrm.Application.Integrations.Commands.ConnectIntegration;

/// <summary>
/// Starts connecting a provider: answers the URL to send the user's browser to. Calendar providers need
/// <c>calendar_sync</c>, Slack <c>slack_integration</c>; Fathom is on every plan. The callback base URL is where the API is
/// reached (the provider's redirect URI, unless configured).
/// </summary>
[RequiresPermission(Permission.IntegrationsManage)]
public sealed record ConnectIntegration(string Provider, string CallbackBaseUrl) : ICommand<Result<AuthorizationUrlDto>>, IOrgScopedRequest;

public sealed class ConnectIntegrationHandler(IIntegrationConnections connections, ITenantContext tenant, ICallerContext caller,
    IFeatures features) : ICommandHandler<ConnectIntegration, Result<AuthorizationUrlDto>>
{
    public async ValueTask<Result<AuthorizationUrlDto>> Handle(ConnectIntegration command, CancellationToken cancellationToken)
    {
        if (IntegrationErrors.UnknownProvider(command.Provider) is { } unknown)
        {
            return unknown;
        }

        // The connecting user is told when the connection needs authorizing again, so an API client cannot connect.
        if (caller.UserId is not { } userId)
        {
            return Error.Forbidden(ErrorCodes.Forbidden, "Connecting an integration needs a signed-in user, not an API client.");
        }

        var organizationId = tenant.Current!.OrganizationId;
        if (IntegrationProviders.RequiredFeature(command.Provider) is { } feature
            && !await features.IsEnabledAsync(organizationId, feature, cancellationToken))
        {
            return Error.Forbidden(ErrorCodes.FeatureDisabled,
                $"The {command.Provider} integration needs the premium feature '{feature}', "
                + "which this organization's plan does not include.");
        }

        return await connections.BeginAsync(organizationId, userId, command.Provider, command.CallbackBaseUrl, cancellationToken);
    }
}
