using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>Authenticated JSON calls to a provider's REST API with the connection's access token.</summary>
public sealed class ProviderApi(IHttpClientFactory httpClients, IOptions<IntegrationOptions> options)
{
    public async Task<JsonElement> SendAsync(string provider, string accessToken, HttpMethod method, string path, object? body,
        CancellationToken cancellationToken)
    {
        var baseUrl = options.Value.For(provider).ApiBaseUrl!.TrimEnd('/');
        using var request = new HttpRequestMessage(method, $"{baseUrl}/{path.TrimStart('/')}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await httpClients.CreateClient(OAuthClient.HttpClientName).SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}

/// <summary>Google channel ids carry their connection's id, so a push notification names the connection it is for.</summary>
public static class GoogleChannels
{
    public const string ResourceIdKey = "channel_resource_id";
    public const string ExpirationKey = "channel_expiration";
    public const string AddressKey = "channel_address";

    public static string NewId(Guid connectionId) => $"cleancrm-{connectionId:N}-{Guid.NewGuid():N}";

    public static Guid? ConnectionIdOf(string? channelId) =>
        channelId is { Length: 74 } && channelId.StartsWith("cleancrm-", StringComparison.Ordinal)
            && Guid.TryParseExact(channelId.AsSpan(9, 32), "N", out var id)
            ? id
            : null;
}

/// <summary>
/// Sets up, on connect, what the provider needs to call us: a Fathom or SavvyCal webhook (its signing secret kept with the
/// tokens) or a Google Calendar push channel (id and token chosen by us); removes it again on disconnect.
/// </summary>
public sealed class WebhookRegistrations(ProviderApi api, IntegrationTokenStore tokens) : IIntegrationLifecycle
{
    public async Task ConnectedAsync(IntegrationConnection connection, Uri apiBase, CancellationToken cancellationToken)
    {
        if (await tokens.GetAsync(connection.Id, cancellationToken) is not { } stored)
        {
            return;
        }

        var extra = new Dictionary<string, string>(stored.Extra, StringComparer.Ordinal);
        switch (connection.Provider)
        {
            case IntegrationProviders.Fathom:
                {
                    var created = await api.SendAsync(connection.Provider, stored.AccessToken, HttpMethod.Post, "webhooks", new
                    {
                        destination_url = new Uri(apiBase, $"webhooks/fathom/{connection.Id}").AbsoluteUri,
                        include_transcript = true,
                        include_summary = true,
                        include_action_items = true,
                        include_crm_matches = false,
                        triggered_for = new[] { "my_recordings", "shared_external_recordings" },
                    }, cancellationToken);
                    extra["webhook_id"] = created.GetProperty("id").ToString();
                    extra[WebhookReceiver.WebhookSecretKey] = created.GetProperty("secret").GetString()!;
                    break;
                }

            case IntegrationProviders.SavvyCal:
                {
                    var created = await api.SendAsync(connection.Provider, stored.AccessToken, HttpMethod.Post, "webhooks",
                        new { url = new Uri(apiBase, $"webhooks/savvycal/{connection.Id}").AbsoluteUri }, cancellationToken);
                    extra["webhook_id"] = created.GetProperty("id").ToString();
                    extra[WebhookReceiver.WebhookSecretKey] = created.GetProperty("secret").GetString()!;
                    break;
                }

            case IntegrationProviders.Google:
                await WatchGoogleAsync(connection.Id, stored.AccessToken, new Uri(apiBase, "webhooks/google/calendar").AbsoluteUri, extra,
                    cancellationToken);
                break;

            default:
                return;
        }

        await tokens.SetAsync(connection.Id, stored with { Extra = extra }, cancellationToken);
    }

    /// <summary>
    /// Creates a Google Calendar push channel to <paramref name="address"/> (a new id and token chosen by us) and writes its id,
    /// token, resource id, expiry (ms since the epoch, as Google answers it) and address into <paramref name="extra"/>.
    /// </summary>
    public async Task WatchGoogleAsync(Guid connectionId, string accessToken, string address, Dictionary<string, string> extra,
        CancellationToken cancellationToken)
    {
        var channelId = GoogleChannels.NewId(connectionId);
        var channelToken = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var channel = await api.SendAsync(IntegrationProviders.Google, accessToken, HttpMethod.Post, "calendars/primary/events/watch",
            new { id = channelId, type = "web_hook", address, token = channelToken }, cancellationToken);
        extra[WebhookReceiver.ChannelIdKey] = channelId;
        extra[WebhookReceiver.ChannelTokenKey] = channelToken;
        extra[GoogleChannels.ResourceIdKey] = channel.GetProperty("resourceId").GetString()!;
        extra[GoogleChannels.ExpirationKey] =
            channel.TryGetProperty("expiration", out var expiration) ? expiration.ToString() : string.Empty;
        extra[GoogleChannels.AddressKey] = address;
    }

    /// <summary>Stops a Google push channel; best effort (an unknown or already expired channel is not an error).</summary>
    public async Task StopGoogleChannelAsync(string accessToken, string channelId, string? resourceId, CancellationToken cancellationToken)
    {
        try
        {
            await api.SendAsync(IntegrationProviders.Google, accessToken, HttpMethod.Post, "channels/stop",
                new { id = channelId, resourceId }, cancellationToken);
        }
        catch (HttpRequestException)
        {
            // It expires on its own; notifications for a channel we no longer hold are answered 404.
        }
    }

    public async Task DisconnectingAsync(IntegrationConnection connection, CancellationToken cancellationToken)
    {
        if (await tokens.GetAsync(connection.Id, cancellationToken) is not { } stored)
        {
            return;
        }

        try
        {
            if (connection.Provider is IntegrationProviders.Fathom or IntegrationProviders.SavvyCal
                && stored.Extra.GetValueOrDefault("webhook_id") is { Length: > 0 } webhookId)
            {
                await api.SendAsync(connection.Provider, stored.AccessToken, HttpMethod.Delete, $"webhooks/{webhookId}", null,
                    cancellationToken);
            }
            else if (connection.Provider == IntegrationProviders.Google
                     && stored.Extra.GetValueOrDefault(WebhookReceiver.ChannelIdKey) is { Length: > 0 } channelId)
            {
                await StopGoogleChannelAsync(stored.AccessToken, channelId, stored.Extra.GetValueOrDefault(GoogleChannels.ResourceIdKey),
                    cancellationToken);
            }
        }
        catch (HttpRequestException)
        {
            // Best effort: once the tokens are revoked the provider stops calling, and unknown connections get 404.
        }
    }
}
