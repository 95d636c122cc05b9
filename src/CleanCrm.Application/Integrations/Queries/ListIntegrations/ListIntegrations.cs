using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;

namespace CleanCrm.Application.Integrations.Queries.ListIntegrations;

[RequiresPermission(Permission.CrmRead)]
public sealed record ListIntegrations : IQuery<Result<IntegrationList>>, IOrgScopedRequest;

public sealed class ListIntegrationsHandler(IIntegrationConnections connections, ITenantContext tenant)
    : IQueryHandler<ListIntegrations, Result<IntegrationList>>
{
    public async ValueTask<Result<IntegrationList>> Handle(ListIntegrations query, CancellationToken cancellationToken) =>
        new IntegrationList(await connections.ListAsync(tenant.Current!.OrganizationId, cancellationToken));
}
