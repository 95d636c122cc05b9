using System.Security.Cryptography;
using System.Text;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Integrations;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations;

/// <summary>
/// The OAuth side of integrations (docs/INTEGRATIONS.md): a single-use, ten-minute state stored hashed with its PKCE verifier,
/// the code exchange, tokens written to the secret store only, and disconnection with revocation at the provider.
/// </summary>
public sealed partial class IntegrationConnections(
    IDbContextFactory<CatalogDbContext> catalog,
    IOptions<IntegrationOptions> options,
    OAuthClient oauth,
    IntegrationTokenStore tokens,
    IFeatures features,
    IDataProtectionProvider dataProtection,
    IEnumerable<IIntegrationLifecycle> lifecycle,
    TimeProvider clock,
    ILogger<IntegrationConnections> logger) : IIntegrationConnections
{
    private readonly IDataProtector _protector = dataProtection.CreateProtector("CleanCrm.Integrations.Pkce.v1");

    public async Task<IReadOnlyList<IntegrationDto>> ListAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var rows = await db.IntegrationConnections.AsNoTracking().Where(c => c.OrganizationId == organizationId)
            .ToDictionaryAsync(c => c.Provider, StringComparer.Ordinal, cancellationToken);
        var result = new List<IntegrationDto>();
        foreach (var provider in IntegrationProviders.All)
        {
            var available = options.Value.For(provider).IsConfigured
                && (IntegrationProviders.RequiredFeature(provider) is not { } feature
                    || await features.IsEnabledAsync(organizationId, feature, cancellationToken));
            result.Add(rows.TryGetValue(provider, out var row)
                ? new IntegrationDto(provider, row.Status, available, row.ConnectedBy, row.ConnectedAt, SplitScopes(row.Scopes),
                    row.LastSyncAt, row.LastError)
                : new IntegrationDto(provider, IntegrationStatuses.NotConnected, available, null, null, [], null, null));
        }

        return result;
    }

    public async Task<Result<AuthorizationUrlDto>> BeginAsync(Guid organizationId, Guid userId, string provider, string callbackBaseUrl,
        CancellationToken cancellationToken)
    {
        var settings = options.Value.For(provider);
        if (!settings.IsConfigured)
        {
            return IntegrationErrors.ProviderNotConfigured(provider);
        }

        var state = Base64Url(RandomNumberGenerator.GetBytes(32));
        var verifier = settings.UsePkce ? Base64Url(RandomNumberGenerator.GetBytes(48)) : null;
        var redirectUri = string.IsNullOrEmpty(settings.RedirectUri)
            ? $"{callbackBaseUrl.TrimEnd('/')}/oauth/{provider}/callback"
            : settings.RedirectUri;
        var now = clock.GetUtcNow();
        await using (var db = await catalog.CreateDbContextAsync(cancellationToken))
        {
            // Expired states are useless; dropping them here keeps the table at the handful of authorizations in flight.
            await db.IntegrationAuthorizations.Where(a => a.ExpiresAt < now.AddHours(-1)).ExecuteDeleteAsync(cancellationToken);
            db.IntegrationAuthorizations.Add(new IntegrationAuthorization
            {
                StateHash = Hash(state),
                OrganizationId = organizationId,
                UserId = userId,
                Provider = provider,
                ProtectedCodeVerifier = verifier is null ? null : _protector.Protect(verifier),
                RedirectUri = redirectUri,
                CreatedAt = now,
                ExpiresAt = now.AddMinutes(options.Value.StateLifetimeMinutes),
            });
            await db.SaveChangesAsync(cancellationToken);
        }

        var query = new Dictionary<string, string?>
        {
            ["client_id"] = settings.ClientId,
            ["redirect_uri"] = redirectUri,
            ["state"] = state,
        };
        if (!string.IsNullOrWhiteSpace(settings.Scopes))
        {
            query["scope"] = settings.Scopes;
        }

        if (provider != IntegrationProviders.Slack)
        {
            query["response_type"] = "code";
        }

        if (provider == IntegrationProviders.Google)
        {
            // A refresh token is only issued with offline access, and again on re-consent only with prompt=consent.
            query["access_type"] = "offline";
            query["prompt"] = "consent";
            query["include_granted_scopes"] = "true";
        }

        if (verifier is not null)
        {
            query["code_challenge"] = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
            query["code_challenge_method"] = "S256";
        }

        return new AuthorizationUrlDto(QueryHelpers.AddQueryString(settings.AuthorizeUrl!, query));
    }

    public async Task<AuthorizationOutcome> CompleteAsync(string provider, string? code, string? state, string? error,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(state) || state.Length > 200)
        {
            return Refused(provider, "missing_state");
        }

        var now = clock.GetUtcNow();
        IntegrationAuthorization? authorization;
        await using (var db = await catalog.CreateDbContextAsync(cancellationToken))
        {
            // Consumed atomically: of two requests with the same state, one wins; a reused or expired state finds nothing.
            var hash = Hash(state);
            var consumed = await db.IntegrationAuthorizations
                .Where(a => a.StateHash == hash && a.Provider == provider && a.ConsumedAt == null && a.ExpiresAt > now)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.ConsumedAt, now), cancellationToken);
            authorization = consumed == 1
                ? await db.IntegrationAuthorizations.AsNoTracking().SingleAsync(a => a.StateHash == hash, cancellationToken)
                : null;
        }

        if (authorization is null)
        {
            return Refused(provider, "invalid_state");
        }

        if (!string.IsNullOrEmpty(error) || string.IsNullOrEmpty(code))
        {
            // The user declined at the provider (access_denied) or the provider failed: back to the SPA, nothing stored.
            return Back(provider, "error", string.IsNullOrEmpty(error) ? "missing_code" : Truncate(error, 60));
        }

        if (!await MayManageAsync(authorization, cancellationToken))
        {
            return Back(provider, "error", "not_allowed");
        }

        var verifier = authorization.ProtectedCodeVerifier is { } protectedVerifier ? _protector.Unprotect(protectedVerifier) : null;
        var exchanged = await oauth.ExchangeCodeAsync(provider, code, authorization.RedirectUri, verifier, cancellationToken);
        if (exchanged.Tokens is not { } granted)
        {
            LogExchangeFailed(logger, provider, authorization.OrganizationId, exchanged.Error);
            return Back(provider, "error", "exchange_failed");
        }

        var connection = await SaveConnectionAsync(authorization, exchanged, granted, now, cancellationToken);
        LogConnected(logger, provider, authorization.OrganizationId, connection.Id);
        // The provider calls us back at the address it redirected the browser to.
        var callbackPath = $"oauth/{provider}/callback";
        var redirect = authorization.RedirectUri;
        var apiBase = new Uri(redirect.EndsWith(callbackPath, StringComparison.Ordinal) ? redirect[..^callbackPath.Length] : redirect);
        try
        {
            foreach (var hook in lifecycle)
            {
                await hook.ConnectedAsync(connection, apiBase, cancellationToken);
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or System.Text.Json.JsonException
                                              or KeyNotFoundException or InvalidOperationException)
        {
            // The grant is kept (disconnecting revokes it); the connection says what is missing.
            LogSetupFailed(logger, exception, provider, authorization.OrganizationId);
            await MarkErrorAsync(connection.Id,
                $"Connected, but setting up {provider}'s notifications failed; disconnect and connect again.",
                cancellationToken);
            return Back(provider, "error", "setup_failed");
        }

        return Back(provider, "connected", null);
    }

    public async Task<bool> DisconnectAsync(Guid organizationId, string provider, CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var connection = await db.IntegrationConnections
            .FirstOrDefaultAsync(c => c.OrganizationId == organizationId && c.Provider == provider, cancellationToken);
        if (connection is null)
        {
            return false;
        }

        // Webhooks and channels are removed first, while the token still works.
        foreach (var hook in lifecycle)
        {
            await hook.DisconnectingAsync(connection, cancellationToken);
        }

        if (await tokens.GetAsync(connection.Id, cancellationToken) is { } stored)
        {
            try
            {
                if (!await oauth.RevokeAsync(provider, stored, cancellationToken))
                {
                    LogNotRevoked(logger, provider, organizationId);
                }
            }
            catch (HttpRequestException exception)
            {
                // The user asked to disconnect: forget the tokens even when the provider cannot be told.
                LogRevokeFailed(logger, exception, provider, organizationId);
            }
        }

        await tokens.DeleteAsync(connection.Id, cancellationToken);
        db.IntegrationConnections.Remove(connection);
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    private async Task<IntegrationConnection> SaveConnectionAsync(IntegrationAuthorization authorization, TokenResult exchanged,
        IntegrationTokens granted, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var connection = await db.IntegrationConnections.FirstOrDefaultAsync(
            c => c.OrganizationId == authorization.OrganizationId && c.Provider == authorization.Provider, cancellationToken);
        if (connection is null)
        {
            connection = new IntegrationConnection
            {
                OrganizationId = authorization.OrganizationId,
                Provider = authorization.Provider,
                Status = IntegrationStatuses.Connected,
            };
            db.IntegrationConnections.Add(connection);
        }

        // The secret first: a connection row never points at tokens that were not stored.
        await tokens.SetAsync(connection.Id, granted, cancellationToken);
        connection.Status = IntegrationStatuses.Connected;
        connection.ConnectedBy = authorization.UserId;
        connection.ConnectedAt = now;
        connection.Scopes = exchanged.Scopes is { } scopes ? Truncate(scopes, 2000) : options.Value.For(authorization.Provider).Scopes;
        connection.ExternalAccountId = exchanged.AccountId ?? connection.ExternalAccountId;
        connection.AccessTokenExpiresAt = granted.ExpiresAt;
        connection.LastError = null;
        connection.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken);
        return connection;
    }

    private async Task MarkErrorAsync(Guid connectionId, string error, CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        await db.IntegrationConnections.Where(c => c.Id == connectionId).ExecuteUpdateAsync(s => s
            .SetProperty(c => c.Status, IntegrationStatuses.Error)
            .SetProperty(c => c.LastError, error), cancellationToken);
    }

    private async Task<bool> MayManageAsync(IntegrationAuthorization authorization, CancellationToken cancellationToken)
    {
        // The user may have lost the role (or the org may be gone) between starting and finishing the authorization.
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var role = await db.Memberships.AsNoTracking()
            .Where(m => m.OrganizationId == authorization.OrganizationId && m.UserId == authorization.UserId)
            .Select(m => (OrgRole?)m.Role).FirstOrDefaultAsync(cancellationToken);
        return role is { } r && RolePermissions.Allows(r, Permission.IntegrationsManage);
    }

    private AuthorizationOutcome Back(string provider, string outcome, string? reason)
    {
        var query = new Dictionary<string, string?> { ["provider"] = provider, ["outcome"] = outcome };
        if (reason is not null)
        {
            query["error"] = reason;
        }

        return new AuthorizationOutcome(new Uri(QueryHelpers.AddQueryString(options.Value.SpaRedirectUrl!, query)), null);
    }

    private AuthorizationOutcome Refused(string provider, string reason)
    {
        LogStateRefused(logger, provider, reason);
        return new AuthorizationOutcome(null,
            "This authorization link is invalid, expired or was already used. Start connecting the integration again from CleanCrm.");
    }

    internal static string Hash(string state) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(state)));

    private static string Base64Url(byte[] bytes) => WebEncoders.Base64UrlEncode(bytes);

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];

    private static string[] SplitScopes(string? scopes) =>
        scopes?.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    [LoggerMessage(Level = LogLevel.Warning, Message = "OAuth callback for {Provider} refused: {Reason}; nothing stored")]
    private static partial void LogStateRefused(ILogger logger, string provider, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Provider} code exchange for organization {OrganizationId} failed: {Error}")]
    private static partial void LogExchangeFailed(ILogger logger, string provider, Guid organizationId, string? error);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "{Provider} connected for organization {OrganizationId} (connection {ConnectionId})")]
    private static partial void LogConnected(ILogger logger, string provider, Guid organizationId, Guid connectionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Setting up {Provider} for organization {OrganizationId} failed after the grant")]
    private static partial void LogSetupFailed(ILogger logger, Exception exception, string provider, Guid organizationId);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "{Provider} did not confirm revoking the tokens of organization {OrganizationId}; they are deleted here anyway")]
    private static partial void LogNotRevoked(ILogger logger, string provider, Guid organizationId);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Could not reach {Provider} to revoke the tokens of organization {OrganizationId}; they are deleted here anyway")]
    private static partial void LogRevokeFailed(ILogger logger, Exception exception, string provider, Guid organizationId);
}

/// <summary>What a provider's sync does when a connection is made or removed (start a backfill, create or stop a channel).</summary>
public interface IIntegrationLifecycle
{
    /// <summary>After the tokens are stored; <paramref name="apiBase"/> is the API's public address (for webhook URLs).</summary>
    Task ConnectedAsync(IntegrationConnection connection, Uri apiBase, CancellationToken cancellationToken);

    Task DisconnectingAsync(IntegrationConnection connection, CancellationToken cancellationToken);
}
