using CleanCrm.Application.Common.Results;

namespace CleanCrm.Application.Integrations;

/// <summary>A provider and this organization's connection to it (<c>not_connected</c> without one). Never holds a token.</summary>
public sealed record IntegrationDto(
    string Provider,
    string Status,
    bool Available,
    Guid? ConnectedBy,
    DateTimeOffset? ConnectedAt,
    IReadOnlyList<string> Scopes,
    DateTimeOffset? LastSyncAt,
    string? LastError);

public sealed record IntegrationList(IReadOnlyList<IntegrationDto> Items);

public sealed record AuthorizationUrlDto(string AuthorizationUrl);

/// <summary>
/// Where the OAuth callback sends the browser: the SPA (<see cref="Redirect"/>) or an error page (<see cref="ErrorPage"/>).
/// </summary>
public sealed record AuthorizationOutcome(Uri? Redirect, string? ErrorPage);

/// <summary>
/// Connections of organizations to providers: OAuth authorization (state, PKCE, code exchange), tokens kept only in the
/// secret store, revocation. Implemented in Infrastructure; see docs/INTEGRATIONS.md.
/// </summary>
public interface IIntegrationConnections
{
    /// <summary>Every provider with the organization's connection state and whether its plan and the platform offer it.</summary>
    Task<IReadOnlyList<IntegrationDto>> ListAsync(Guid organizationId, CancellationToken cancellationToken);

    /// <summary>Stores a single-use state for the org, user and provider and answers the provider's authorization URL.</summary>
    Task<Result<AuthorizationUrlDto>> BeginAsync(Guid organizationId, Guid userId, string provider, string callbackBaseUrl,
        CancellationToken cancellationToken);

    /// <summary>Consumes the state, exchanges the code and stores the tokens; a bad, expired or reused state stores nothing.</summary>
    Task<AuthorizationOutcome> CompleteAsync(string provider, string? code, string? state, string? error,
        CancellationToken cancellationToken);

    /// <summary>Revokes the tokens at the provider where it can, deletes them and the connection; false when not connected.</summary>
    Task<bool> DisconnectAsync(Guid organizationId, string provider, CancellationToken cancellationToken);
}
