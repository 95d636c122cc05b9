using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Application.Common.Security;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Sso.Commands.DeleteSsoConfiguration;

/// <summary>
/// Removes an organization's identity provider and its secret (<c>DELETE /api/v1/orgs/{slug}/sso</c>); its members sign in
/// with a password again (those without one use password reset).
/// </summary>
[RequiresSignedInUser]
public sealed record DeleteSsoConfiguration(string Slug) : ICommand<Result<bool>>;

public sealed class DeleteSsoConfigurationHandler(ICatalogDbContext db, ICallerContext caller, ISecretStore secrets)
    : ICommandHandler<DeleteSsoConfiguration, Result<bool>>
{
    public async ValueTask<Result<bool>> Handle(DeleteSsoConfiguration command, CancellationToken cancellationToken)
    {
        var access = await SsoAccess.OwnedEnterpriseOrganizationAsync(db, caller, command.Slug, cancellationToken);
        if (!access.IsSuccess)
        {
            return access.Error!;
        }

        var provider = await db.IdentityProviders.Include(p => p.Domains)
            .FirstOrDefaultAsync(p => p.OrganizationId == access.Value.Id, cancellationToken);
        if (provider is null)
        {
            return Error.NotFound("Identity provider", command.Slug);
        }

        db.IdentityProviders.Remove(provider);
        await db.SaveChangesAsync(cancellationToken);
        await secrets.DeleteAsync(provider.ClientSecretName, cancellationToken);
        return true;
    }
}
