using System.Buffers.Text;
using System.Security.Cryptography;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Identity;

/// <summary>
/// The token-signing keys added by rotations, in the catalog (<c>signing_keys</c>) so every API instance sees them, each
/// private key protected with ASP.NET Core Data Protection (its key ring is in the catalog too). The key configured as
/// <c>CleanCrm:Identity:SigningKey</c> stays the first key until a rotated key activates (docs/OPERATIONS.md, "Rotating the
/// token-signing key").
/// </summary>
public sealed class SigningKeyStore(IDbContextFactory<CatalogDbContext> catalog, IDataProtectionProvider dataProtection, TimeProvider clock)
{
    private const string Purpose = "CleanCrm.Identity.SigningKeys";
    private const int MaxKeyIdLength = 64;

    private IDataProtector Protector => dataProtection.CreateProtector(Purpose);

    /// <summary>The <c>kid</c> of an RSA key: a hash of its public key, so every instance derives the same one.</summary>
    public static string KeyIdOf(RSA rsa) => Base64Url.EncodeToString(SHA256.HashData(rsa.ExportSubjectPublicKeyInfo()))[..16];

    /// <summary>Every row, retired ones included, with the private keys unprotected.</summary>
    public async Task<IReadOnlyList<StoredSigningKey>> LoadAsync(CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var rows = await db.SigningKeys.AsNoTracking().OrderBy(k => k.ActivatesAt).ToListAsync(cancellationToken);
        return [.. rows.Select(row => new StoredSigningKey(row.Id,
            row.ProtectedPrivateKey is { } protectedKey && row.RetiredAt is null ? Protector.Unprotect(protectedKey) : null,
            row.CreatedAt, row.ActivatesAt, row.RetiredAt))];
    }

    /// <summary>
    /// Adds a new key, published at once and signing from <paramref name="activateIn"/> on: long enough for every instance
    /// (and every client caching the JWKS) to know it before the first token signed with it appears.
    /// </summary>
    public async Task<SigningKey> RotateAsync(TimeSpan activateIn, CancellationToken cancellationToken)
    {
        using var rsa = RSA.Create(2048);
        var now = clock.GetUtcNow();
        var row = new SigningKey
        {
            Id = KeyIdOf(rsa),
            ProtectedPrivateKey = Protector.Protect(rsa.ExportPkcs8PrivateKeyPem()),
            CreatedAt = now,
            ActivatesAt = now + (activateIn < TimeSpan.Zero ? TimeSpan.Zero : activateIn),
        };
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        db.SigningKeys.Add(row);
        await db.SaveChangesAsync(cancellationToken);
        return row;
    }

    /// <summary>
    /// Stops publishing and trusting a key. Refused for the key that signs now, and (without <paramref name="force"/>)
    /// while access tokens it signed may still be alive: until <paramref name="accessTokenLifetime"/> after its successor
    /// activated. The configured key gets a row without key material.
    /// </summary>
    public async Task<RetireOutcome> RetireAsync(
        string keyId, TimeSpan accessTokenLifetime, bool force, CancellationToken cancellationToken)
    {
        keyId = keyId.Trim();
        if (keyId.Length is 0 or > MaxKeyIdLength || !keyId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return RetireOutcome.Refused($"'{keyId}' is not a key id (see the kid values in /.well-known/jwks).");
        }

        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var rows = await db.SigningKeys.OrderBy(k => k.ActivatesAt).ToListAsync(cancellationToken);
        var row = rows.FirstOrDefault(k => k.Id == keyId);
        if (row?.RetiredAt is not null)
        {
            return RetireOutcome.Done($"{keyId} was already retired at {row.RetiredAt:u}.");
        }

        var activated = rows.Where(k => k.RetiredAt is null && k.ProtectedPrivateKey is not null && k.ActivatesAt <= now).ToList();
        var signer = activated.LastOrDefault();
        DateTimeOffset? lastSigned;
        if (row is not null)
        {
            if (ReferenceEquals(row, signer))
            {
                return RetireOutcome.Refused($"{keyId} signs the tokens issued now; rotate (rotate-signing-key) before retiring it.");
            }

            // A key that never activated signed nothing; otherwise it signed until the next key activated.
            lastSigned = row.ActivatesAt > now ? null : activated.FirstOrDefault(k => k.ActivatesAt > row.ActivatesAt)?.ActivatesAt;
        }
        else
        {
            // Not a rotated key: the configured one, which signs until the first rotated key activates.
            if (signer is null)
            {
                return RetireOutcome.Refused(
                    $"{keyId} is not a rotated key, and the configured key still signs the tokens issued now; rotate first.");
            }

            lastSigned = activated[0].ActivatesAt;
        }

        if (lastSigned is { } last && now < last + accessTokenLifetime && !force)
        {
            return RetireOutcome.Refused($"Access tokens signed with {keyId} are valid until {last + accessTokenLifetime:u}; retire it "
                + "after that, or pass --force (their holders are then refused: use it for a compromised key).");
        }

        if (row is null)
        {
            db.SigningKeys.Add(new SigningKey { Id = keyId, CreatedAt = now, ActivatesAt = DateTimeOffset.UnixEpoch, RetiredAt = now });
        }
        else
        {
            row.RetiredAt = now;
            row.ProtectedPrivateKey = null;
        }

        await db.SaveChangesAsync(cancellationToken);
        return RetireOutcome.Done($"{keyId} retired: no longer published or trusted (every API instance within its refresh interval).");
    }
}

/// <summary>A stored signing key; <see cref="PrivateKeyPem"/> is null for a retired key.</summary>
public sealed record StoredSigningKey(
    string Id,
    string? PrivateKeyPem,
    DateTimeOffset CreatedAt,
    DateTimeOffset ActivatesAt,
    DateTimeOffset? RetiredAt);

public sealed record RetireOutcome(bool Succeeded, string Message)
{
    public static RetireOutcome Done(string message) => new(true, message);

    public static RetireOutcome Refused(string message) => new(false, message);
}
