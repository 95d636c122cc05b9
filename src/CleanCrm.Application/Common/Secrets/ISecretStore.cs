namespace CleanCrm.Application.Common.Secrets;

/// <summary>
/// Where every secret of the platform lives: tenant database passwords, database-server admin
/// credentials, and (in production) configuration secrets. Names are restricted to
/// <c>[a-zA-Z0-9-]{1,127}</c> so that every implementation (Key Vault included) accepts them.
/// </summary>
public interface ISecretStore
{
    /// <summary>Returns the current value, or <c>null</c> when no secret of that name exists.</summary>
    Task<string?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Creates the secret or replaces its value (idempotent).</summary>
    Task SetAsync(string name, string value, CancellationToken cancellationToken = default);

    /// <summary>Removes the secret; succeeds when it does not exist (idempotent).</summary>
    Task DeleteAsync(string name, CancellationToken cancellationToken = default);
}
