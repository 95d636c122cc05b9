using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;

namespace CleanCrm.Application.ApiClients.Commands.DeleteApiClient;

[RequiresPermission(Permission.ApiClientsManage)]
public sealed record DeleteApiClient(string ClientId) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteApiClientHandler(IApiClientRegistry registry, ITenantContext tenant)
    : ICommandHandler<DeleteApiClient, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(DeleteApiClient command, CancellationToken cancellationToken) =>
        await registry.DeleteAsync(tenant.Current!.OrganizationId, command.ClientId, cancellationToken)
            ? Unit.Value
            : Error.NotFound("API client", command.ClientId);
}
