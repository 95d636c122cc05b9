using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;

namespace CleanCrm.Application.ApiClients.Queries.ListApiClients;

[RequiresPermission(Permission.ApiClientsManage)]
public sealed record ListApiClients : IQuery<Result<ApiClientList>>, IOrgScopedRequest;

public sealed record ApiClientList(IReadOnlyList<ApiClientDto> Items);

public sealed class ListApiClientsHandler(IApiClientRegistry registry, ITenantContext tenant)
    : IQueryHandler<ListApiClients, Result<ApiClientList>>
{
    public async ValueTask<Result<ApiClientList>> Handle(ListApiClients query, CancellationToken cancellationToken) =>
        new ApiClientList(await registry.ListAsync(tenant.Current!.OrganizationId, cancellationToken));
}
