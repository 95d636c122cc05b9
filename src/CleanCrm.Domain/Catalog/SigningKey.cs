namespace CleanCrm.Domain.Catalog;

/// <summary>
/// A token-signing key added by a rotation (docs/OPERATIONS.md, "Rotating the token-signing key"). The key configured as
/// <c>CleanCrm:Identity:SigningKey</c> is the first key and has no row unless it is retired (a row without key material).
/// </summary>
public sealed class SigningKey
{
    /// <summary>The key id (<c>kid</c>) published in JWKS.</summary>
    public required string Id { get; set; }

    /// <summary>The RSA private key (PKCS#8 PEM) protected with ASP.NET Core Data Protection; null for a retired configured key.</summary>
    public string? ProtectedPrivateKey { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>From then on new tokens are signed with this key; before that it is only published (the "next" key).</summary>
    public DateTimeOffset ActivatesAt { get; set; }

    /// <summary>No longer published nor trusted from then on.</summary>
    public DateTimeOffset? RetiredAt { get; set; }
}
