namespace CleanCrm.Domain.Catalog;

/// <summary>
/// An organization's OpenID Connect identity provider (enterprise SSO, docs/SECURITY.md "Enterprise SSO"): members whose
/// email domain is one of <see cref="Domains"/> sign in there. The client secret lives only in the secret store.
/// </summary>
public sealed class OrganizationIdentityProvider
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid OrganizationId { get; set; }

    public Organization? Organization { get; set; }

    /// <summary>Shown on the sign-in page ("Continue with …").</summary>
    public required string DisplayName { get; set; }

    public required string Issuer { get; set; }

    public required string ClientId { get; set; }

    /// <summary>Name of the client secret in the secret store.</summary>
    public required string ClientSecretName { get; set; }

    /// <summary>True: members with these domains cannot sign in with a password.</summary>
    public bool Enforce { get; set; }

    /// <summary>True: a first sign-in through the provider creates the user and the membership.</summary>
    public bool JitProvisioning { get; set; }

    /// <summary>The role of memberships created just in time.</summary>
    public OrgRole DefaultRole { get; set; } = OrgRole.Member;

    public List<IdentityProviderDomain> Domains { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>An email domain owned by one identity provider; the primary key makes a domain belong to one organization.</summary>
public sealed class IdentityProviderDomain
{
    /// <summary>Lower-case domain, e.g. <c>acme.example</c>.</summary>
    public required string Domain { get; set; }

    public Guid ProviderId { get; set; }
}
