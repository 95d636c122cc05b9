using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using CleanCrm.Domain.Catalog;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations;

/// <summary>What the secret store holds for a connection: the tokens and provider values that are credentials themselves.</summary>
public sealed record IntegrationTokens
{
    [JsonPropertyName("access_token")]
    public required string AccessToken { get; init; }

    [JsonPropertyName("refresh_token")]
    public string? RefreshToken { get; init; }

    [JsonPropertyName("expires_at")]
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Provider extras (Slack: the chosen channel id and its incoming-webhook URL).</summary>
    [JsonPropertyName("extra")]
    public Dictionary<string, string> Extra { get; init; } = [];
}

/// <summary>A token endpoint's answer: tokens and what the provider says about the grant, or an OAuth error code.</summary>
public sealed record TokenResult(IntegrationTokens? Tokens, string? Scopes, string? AccountId, string? Error, string? ErrorDescription)
{
    /// <summary>The grant is gone for good (revoked, expired, app removed): the user has to authorize again.</summary>
    public bool NeedsReauthorization => Error is "invalid_grant" or "invalid_refresh_token" or "token_revoked" or "token_expired"
        or "invalid_client_id" or "unauthorized_client";

    public static TokenResult Failed(string error, string? description = null) => new(null, null, null, error, description);
}

/// <summary>
/// The OAuth 2.0 calls of the four providers on their real wire formats: RFC 6749 form posts answered with JSON (Google,
/// Fathom, SavvyCal), and Slack's <c>oauth.v2.access</c>, which answers 200 with <c>{"ok": false, "error": …}</c> on failure.
/// Token values never reach a log: they travel in form bodies and headers only.
/// </summary>
public sealed class OAuthClient(IHttpClientFactory httpClients, IOptions<IntegrationOptions> options, TimeProvider clock)
{
    public const string HttpClientName = "integrations";

    public Task<TokenResult> ExchangeCodeAsync(string provider, string code, string redirectUri, string? codeVerifier,
        CancellationToken cancellationToken)
    {
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = redirectUri,
        };
        if (codeVerifier is not null)
        {
            form["code_verifier"] = codeVerifier;
        }

        return PostTokenAsync(provider, form, previous: null, cancellationToken);
    }

    public Task<TokenResult> RefreshAsync(string provider, IntegrationTokens tokens, CancellationToken cancellationToken) =>
        tokens.RefreshToken is not { } refreshToken
            ? Task.FromResult(TokenResult.Failed("invalid_grant", "No refresh token was issued for this connection."))
            : PostTokenAsync(provider, new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token",
                ["refresh_token"] = refreshToken,
            }, tokens, cancellationToken);

    /// <summary>Revokes the grant at the provider; false when the provider has no revocation endpoint or refused.</summary>
    public async Task<bool> RevokeAsync(string provider, IntegrationTokens tokens, CancellationToken cancellationToken)
    {
        var settings = options.Value.For(provider);
        if (string.IsNullOrEmpty(settings.RevokeUrl))
        {
            return false;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, settings.RevokeUrl);
        if (provider == IntegrationProviders.Slack)
        {
            // auth.revoke revokes the token it is called with.
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
            request.Content = new FormUrlEncodedContent([]);
        }
        else
        {
            // Google and RFC 7009: revoking the refresh token ends the whole grant.
            var form = new Dictionary<string, string>
            {
                ["token"] = tokens.RefreshToken ?? tokens.AccessToken,
                ["token_type_hint"] = tokens.RefreshToken is null ? "access_token" : "refresh_token",
            };
            AddClientCredentials(form, settings);
            request.Content = new FormUrlEncodedContent(form);
        }

        using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, cancellationToken);
        if (provider != IntegrationProviders.Slack)
        {
            // An already invalid token (400 invalid_token) is as good as revoked.
            return response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.BadRequest;
        }

        using var json = await ReadJsonAsync(response, cancellationToken);
        return json?.RootElement.TryGetProperty("ok", out var ok) == true && ok.ValueKind == JsonValueKind.True
            || Text(json?.RootElement, "error") is "invalid_auth" or "token_revoked" or "account_inactive";
    }

    private async Task<TokenResult> PostTokenAsync(string provider, Dictionary<string, string> form, IntegrationTokens? previous,
        CancellationToken cancellationToken)
    {
        var settings = options.Value.For(provider);
        AddClientCredentials(form, settings);
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.TokenUrl) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await httpClients.CreateClient(HttpClientName).SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException exception)
        {
            return TokenResult.Failed("unreachable", exception.HttpRequestError.ToString());
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TokenResult.Failed("timeout", "The token endpoint did not answer in time.");
        }

        using (response)
        {
            using var json = await ReadJsonAsync(response, cancellationToken);
            var root = json?.RootElement;
            if (root is not { ValueKind: JsonValueKind.Object } body)
            {
                return TokenResult.Failed("invalid_response", $"The token endpoint answered {(int)response.StatusCode} without JSON.");
            }

            var slack = provider == IntegrationProviders.Slack;
            var failed = slack
                ? !(body.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True)
                : !response.IsSuccessStatusCode;
            if (failed || Text(body, "access_token") is not { Length: > 0 } accessToken)
            {
                return TokenResult.Failed(Text(body, "error") ?? $"http_{(int)response.StatusCode}", Text(body, "error_description"));
            }

            var extra = new Dictionary<string, string>(previous?.Extra ?? [], StringComparer.Ordinal);
            if (slack && body.TryGetProperty("incoming_webhook", out var hook) && hook.ValueKind == JsonValueKind.Object)
            {
                extra["channel_id"] = Text(hook, "channel_id") ?? string.Empty;
                extra["channel"] = Text(hook, "channel") ?? string.Empty;
            }

            var tokens = new IntegrationTokens
            {
                AccessToken = accessToken,
                // Providers that do not rotate refresh tokens omit them on refresh: keep the one we have.
                RefreshToken = Text(body, "refresh_token") ?? previous?.RefreshToken,
                ExpiresAt = body.TryGetProperty("expires_in", out var expiresIn) && expiresIn.TryGetInt64(out var seconds) && seconds > 0
                    ? clock.GetUtcNow().AddSeconds(seconds)
                    : null,
                Extra = extra,
            };
            var account = slack && body.TryGetProperty("team", out var team) && team.ValueKind == JsonValueKind.Object
                ? Text(team, "id")
                : null;
            return new TokenResult(tokens, Text(body, "scope"), account, null, null);
        }
    }

    private static void AddClientCredentials(Dictionary<string, string> form, IntegrationProviderOptions settings)
    {
        form["client_id"] = settings.ClientId ?? string.Empty;
        form["client_secret"] = settings.ClientSecret ?? string.Empty;
    }

    private static async Task<JsonDocument?> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            return await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement? element, string name) =>
        element is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
