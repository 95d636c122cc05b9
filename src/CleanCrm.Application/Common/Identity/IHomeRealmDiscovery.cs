namespace CleanCrm.Application.Common.Identity;

/// <summary>Finds the organization identity provider that owns an email's domain (enterprise SSO, docs/SECURITY.md).</summary>
public interface IHomeRealmDiscovery
{
    /// <summary>The realm for this email, or null when the email signs in with a password.</summary>
    Task<HomeRealm?> FindAsync(string email, CancellationToken cancellationToken);
}

/// <summary>Where to send a user whose email domain belongs to an organization's identity provider.</summary>
/// <param name="Enforced">True when the organization forbids password sign-in for these users.</param>
/// <param name="StartPath">Local path that starts the external sign-in, e.g. /account/sso/{providerId}/start.</param>
public sealed record HomeRealm(Guid OrganizationId, Guid ProviderId, string DisplayName, bool Enforced, string StartPath);
