using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;

namespace CleanCrm.Application.Integrations.Commands.CompleteIntegrationAuthorization;

/// <summary>
/// The provider's redirect back (<c>GET /oauth/{provider}/callback</c>): anonymous, because the browser carries no API token;
/// the single-use state names the organization and the user who started it.
/// </summary>
[AllowAnonymousRequest]
public sealed record CompleteIntegrationAuthorization(string Provider, string? Code, string? State, string? Error)
    : ICommand<Result<AuthorizationOutcome>>;

public sealed class CompleteIntegrationAuthorizationHandler(IIntegrationConnections connections)
    : ICommandHandler<CompleteIntegrationAuthorization, Result<AuthorizationOutcome>>
{
    public async ValueTask<Result<AuthorizationOutcome>> Handle(CompleteIntegrationAuthorization command,
        CancellationToken cancellationToken)
    {
        if (IntegrationErrors.UnknownProvider(command.Provider) is { } unknown)
        {
            return unknown;
        }

        return await connections.CompleteAsync(command.Provider, command.Code, command.State, command.Error, cancellationToken);
    }
}
