using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Sso;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Identity;

/// <summary>
/// Home-realm discovery by email domain (docs/SECURITY.md, "Enterprise SSO"). A domain's identity provider applies to the
/// organization's members and to emails without an account (just-in-time provisioning); an existing user of another
/// organization is never sent there: a domain is claimed by an organization without proof that it owns it, so a claim on
/// a public mail domain must not reach anyone else's account.
/// </summary>
public sealed class HomeRealmDiscovery(IDbContextFactory<CatalogDbContext> catalog) : IHomeRealmDiscovery
{
    public async Task<HomeRealm?> FindAsync(string email, CancellationToken cancellationToken)
    {
        var at = email?.LastIndexOf('@') ?? -1;
        if (at < 1 || at == email!.Length - 1)
        {
            return null;
        }

        var domain = email[(at + 1)..].Trim().ToLowerInvariant();
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var provider = await db.IdentityProviderDomains.AsNoTracking()
            .Where(d => d.Domain == domain)
            .Join(db.IdentityProviders, d => d.ProviderId, p => p.Id, (d, p) => p)
            .Where(p => p.Organization!.Status == OrganizationStatus.Active && p.Organization.PlanKey == Plan.Enterprise)
            .Select(p => new { p.Id, p.OrganizationId, p.DisplayName, p.Enforce })
            .FirstOrDefaultAsync(cancellationToken);
        if (provider is null)
        {
            return null;
        }

        var normalized = UserAccount.Normalize(email);
        var user = await db.Users.AsNoTracking().Where(u => u.NormalizedEmail == normalized)
            .Select(u => new { u.Id, Member = db.Memberships.Any(m => m.UserId == u.Id && m.OrganizationId == provider.OrganizationId) })
            .FirstOrDefaultAsync(cancellationToken);
        return user is { Member: false }
            ? null
            : new HomeRealm(
                provider.OrganizationId, provider.Id, provider.DisplayName, provider.Enforce, SsoAccess.SignInPath(provider.Id));
    }
}
