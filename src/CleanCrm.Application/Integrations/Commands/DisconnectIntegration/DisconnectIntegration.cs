using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;

namespace CleanCrm.Application.Integrations.Commands.DisconnectIntegration;

/// <summary>Disconnects a provider: revoked at the provider where it supports it, tokens deleted from the secret store.</summary>
[RequiresPermission(Permission.IntegrationsManage)]
public sealed record DisconnectIntegration(string Provider) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DisconnectIntegrationHandler(IIntegrationConnections connections, ITenantContext tenant)
    : ICommandHandler<DisconnectIntegration, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(DisconnectIntegration command, CancellationToken cancellationToken)
    {
        if (IntegrationErrors.UnknownProvider(command.Provider) is { } unknown)
        {
            return unknown;
        }

        return await connections.DisconnectAsync(tenant.Current!.OrganizationId, command.Provider, cancellationToken)
            ? Unit.Value
            : Error.NotFound("Integration connection", command.Provider);
    }
}
