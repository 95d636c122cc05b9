using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Application.Common.Security;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Sso.Queries.GetSsoConfiguration;

/// <summary>An organization's identity provider (<c>GET /api/v1/orgs/{slug}/sso</c>, owners, Enterprise); 404 when none.</summary>
[RequiresSignedInUser]
public sealed record GetSsoConfiguration(string Slug) : IQuery<Result<SsoConfigurationDto>>;

public sealed class GetSsoConfigurationHandler(ICatalogDbContext db, ICallerContext caller, ISecretStore secrets)
    : IQueryHandler<GetSsoConfiguration, Result<SsoConfigurationDto>>
{
    public async ValueTask<Result<SsoConfigurationDto>> Handle(GetSsoConfiguration query, CancellationToken cancellationToken)
    {
        var access = await SsoAccess.OwnedEnterpriseOrganizationAsync(db, caller, query.Slug, cancellationToken);
        if (!access.IsSuccess)
        {
            return access.Error!;
        }

        var provider = await db.IdentityProviders.AsNoTracking().Include(p => p.Domains)
            .FirstOrDefaultAsync(p => p.OrganizationId == access.Value.Id, cancellationToken);
        return provider is null
            ? Error.NotFound("Identity provider", query.Slug)
            : SsoConfigurationDto.From(provider, await secrets.GetAsync(provider.ClientSecretName, cancellationToken) is not null);
    }
}
