using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using WireMock;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Util;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>
/// One WireMock server playing the authorization servers of Google, Slack, Fathom and SavvyCal on their real wire formats:
/// RFC 6749 form posts answered with JSON (<c>{"error":"invalid_grant"}</c> with 400 on failure), and Slack's
/// <c>oauth.v2.access</c> / <c>auth.revoke</c>, which answer 200 with <c>{"ok": false, "error": …}</c>. Codes are issued by
/// <see cref="Authorize"/> (the user consenting) and bound to the redirect URI and PKCE challenge of the authorization URL.
/// </summary>
internal sealed class OAuthProvidersStub : IDisposable
{
    public const string ClientSecret = "stub-client-secret";
    public const string SlackSigningSecret = "slack-signing-secret";

    private readonly ConcurrentDictionary<string, (string Provider, string RedirectUri, string? Challenge)> _codes = new();
    private readonly ConcurrentDictionary<string, string> _refreshTokens = new();
    private readonly ConcurrentQueue<(string Path, Dictionary<string, string> Form, string? Authorization)> _calls = new();
    private readonly ConcurrentBag<string> _issued = [];
    private readonly ConcurrentDictionary<string, string> _webhookSecrets = new();
    private readonly ConcurrentDictionary<string, (string Id, string Token)> _channels = new();
    private readonly ConcurrentQueue<string> _stoppedChannels = new();
    private volatile JsonNode[][] _fathomPages = [];
    private volatile JsonNode[] _googleFull = [];
    private volatile JsonNode[] _googleChanges = [];
    private readonly ConcurrentQueue<string> _slackAnswers = new();
    private int _sequence;

    public OAuthProvidersStub()
    {
        Server = WireMockServer.Start();
        Route("/google/token", form => Token("google", form, slack: false));
        Route("/google/revoke", Revoke);
        Route("/fathom/oauth2/token", form => Token("fathom", form, slack: false));
        Route("/savvycal/oauth/token", form => Token("savvycal", form, slack: false));
        Route("/slack/api/oauth.v2.access", form => Token("slack", form, slack: true));
        RouteApi("POST", "/fathom/external/v1/webhooks", request => CreateWebhook(request, "destination_url"));
        RouteApi("POST", "/savvycal/v1/webhooks", request => CreateWebhook(request, "url"));
        RouteApi("DELETE", "/fathom/external/v1/webhooks/", _ => NoContent());
        RouteApi("DELETE", "/savvycal/v1/webhooks/", _ => NoContent());
        RouteApi("GET", "/fathom/external/v1/meetings", FathomMeetings);
        RouteApi("GET", "/google/calendar/v3/calendars/primary/events", GoogleEvents);
        RouteApi("POST", "/slack/api/chat.postMessage", SlackPost);
        RouteApi("POST", "/google/calendar/v3/calendars/primary/events/watch", Watch);
        RouteApi("POST", "/google/calendar/v3/channels/stop", StopChannel);
        Server.Given(Request.Create().UsingPost().WithPath("/slack/api/auth.revoke")).AtPriority(10)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                var bearer = Header(request, "Authorization");
                _calls.Enqueue((request.Path, [], bearer));
                var token = bearer?.StartsWith("Bearer ", StringComparison.Ordinal) == true ? bearer[7..] : null;
                return Json(200, token is not null && _issued.Contains(token)
                    ? new JsonObject { ["ok"] = true, ["revoked"] = true }
                    : new JsonObject { ["ok"] = false, ["error"] = "invalid_auth" });
            }));
    }

    public WireMockServer Server { get; }

    public string Url => Server.Url!;

    /// <summary>Every access and refresh token handed out, to assert they appear nowhere they must not.</summary>
    public IReadOnlyCollection<string> IssuedTokens => [.. _issued];

    public IReadOnlyList<(string Path, Dictionary<string, string> Form, string? Authorization)> Calls => [.. _calls];

    public Dictionary<string, string?> Settings(string spaRedirect) => new()
    {
        ["CleanCrm:Integrations:SpaRedirectUrl"] = spaRedirect,
        ["CleanCrm:Integrations:Google:ClientId"] = "google-client",
        ["CleanCrm:Integrations:Google:ClientSecret"] = ClientSecret,
        ["CleanCrm:Integrations:Google:AuthorizeUrl"] = $"{Url}/google/auth",
        ["CleanCrm:Integrations:Google:TokenUrl"] = $"{Url}/google/token",
        ["CleanCrm:Integrations:Google:RevokeUrl"] = $"{Url}/google/revoke",
        ["CleanCrm:Integrations:Google:ApiBaseUrl"] = $"{Url}/google/calendar/v3",
        ["CleanCrm:Integrations:Slack:ClientId"] = "slack-client",
        ["CleanCrm:Integrations:Slack:ClientSecret"] = ClientSecret,
        ["CleanCrm:Integrations:Slack:SigningSecret"] = SlackSigningSecret,
        ["CleanCrm:Integrations:Slack:AuthorizeUrl"] = $"{Url}/slack/oauth/v2/authorize",
        ["CleanCrm:Integrations:Slack:TokenUrl"] = $"{Url}/slack/api/oauth.v2.access",
        ["CleanCrm:Integrations:Slack:RevokeUrl"] = $"{Url}/slack/api/auth.revoke",
        ["CleanCrm:Integrations:Slack:ApiBaseUrl"] = $"{Url}/slack/api",
        ["CleanCrm:Integrations:Fathom:ClientId"] = "fathom-client",
        ["CleanCrm:Integrations:Fathom:ClientSecret"] = ClientSecret,
        ["CleanCrm:Integrations:Fathom:AuthorizeUrl"] = $"{Url}/fathom/oauth2/authorize",
        ["CleanCrm:Integrations:Fathom:TokenUrl"] = $"{Url}/fathom/oauth2/token",
        ["CleanCrm:Integrations:Fathom:ApiBaseUrl"] = $"{Url}/fathom/external/v1",
        ["CleanCrm:Integrations:SavvyCal:ClientId"] = "savvycal-client",
        ["CleanCrm:Integrations:SavvyCal:ClientSecret"] = ClientSecret,
        ["CleanCrm:Integrations:SavvyCal:AuthorizeUrl"] = $"{Url}/savvycal/oauth/authorize",
        ["CleanCrm:Integrations:SavvyCal:TokenUrl"] = $"{Url}/savvycal/oauth/token",
        ["CleanCrm:Integrations:SavvyCal:ApiBaseUrl"] = $"{Url}/savvycal/v1",
    };

    /// <summary>The user consents on the provider's page: a code bound to the URL's redirect URI and PKCE challenge.</summary>
    public (string Code, string State, string RedirectUri) Authorize(string provider, string authorizationUrl)
    {
        var query = QueryHelpers.ParseQuery(new Uri(authorizationUrl).Query);
        var code = $"{provider}-code-{Interlocked.Increment(ref _sequence)}-{Guid.NewGuid():N}";
        var challenge = query.TryGetValue("code_challenge", out var c) ? c.ToString() : null;
        _codes[code] = (provider, query["redirect_uri"].ToString(), challenge);
        return (code, query["state"].ToString(), query["redirect_uri"].ToString());
    }

    /// <summary>The signing secret of the webhook created for a connection (Fathom, SavvyCal).</summary>
    public string WebhookSecret(Guid connectionId) =>
        _webhookSecrets.Single(w => w.Key.Contains(connectionId.ToString(), StringComparison.Ordinal)).Value;

    /// <summary>The live (not stopped) push channel (id, token) of a Google connection.</summary>
    public (string Id, string Token) Channel(Guid connectionId) =>
        _channels.Single(c => c.Key.Contains(connectionId.ToString("N"), StringComparison.Ordinal)).Value;

    /// <summary>The ids of the channels stopped through <c>channels/stop</c>, in order.</summary>
    public IReadOnlyList<string> StoppedChannels => [.. _stoppedChannels];

    /// <summary>What <c>GET /external/v1/meetings</c> answers: one page per array, chained with <c>next_cursor</c>.</summary>
    public void SetFathomMeetings(params JsonNode[][] pages) => _fathomPages = pages;

    /// <summary>Google's primary calendar: what a full sync lists (two pages) and what the next incremental sync returns.</summary>
    public void SetGoogleCalendar(JsonNode[] full, JsonNode[] changes)
    {
        _googleFull = full;
        _googleChanges = changes;
    }

    /// <summary>How the next <c>chat.postMessage</c> calls answer: <c>429</c>, <c>500</c>, <c>ok</c>, or a Slack error code.</summary>
    public void QueueSlackAnswers(params string[] answers)
    {
        foreach (var answer in answers)
        {
            _slackAnswers.Enqueue(answer);
        }
    }

    /// <summary>When set, any request with a sync token answers 410 Gone (the token expired).</summary>
    public bool GoogleSyncTokenExpired { get; set; }

    /// <summary>The user (or an admin) revokes the app at the provider: its refresh tokens stop working.</summary>
    public void RevokeAllRefreshTokens() => _refreshTokens.Clear();

    private ResponseMessage Token(string provider, Dictionary<string, string> form, bool slack)
    {
        if (form.GetValueOrDefault("client_id") != $"{provider}-client" || form.GetValueOrDefault("client_secret") != ClientSecret)
        {
            return Failure(slack, 401, "invalid_client", "The OAuth client was not found.");
        }

        switch (form.GetValueOrDefault("grant_type"))
        {
            case "authorization_code":
                if (!_codes.TryRemove(form.GetValueOrDefault("code") ?? string.Empty, out var issued) || issued.Provider != provider)
                {
                    return Failure(slack, 400, slack ? "invalid_code" : "invalid_grant", "Malformed auth code.");
                }

                if (issued.RedirectUri != form.GetValueOrDefault("redirect_uri"))
                {
                    return Failure(slack, 400, slack ? "bad_redirect_uri" : "redirect_uri_mismatch", "Bad Request");
                }

                if (issued.Challenge is not null && !Verifies(form.GetValueOrDefault("code_verifier"), issued.Challenge))
                {
                    return Failure(slack, 400, "invalid_grant", "Invalid code verifier.");
                }

                return Granted(provider, slack, includeRefresh: true);
            case "refresh_token":
                return _refreshTokens.ContainsKey(form.GetValueOrDefault("refresh_token") ?? string.Empty)
                    ? Granted(provider, slack, includeRefresh: slack)
                    : Failure(slack, 400, slack ? "invalid_refresh_token" : "invalid_grant", "Token has been expired or revoked.");
            default:
                return Failure(slack, 400, "unsupported_grant_type", "Invalid grant_type.");
        }
    }

    private ResponseMessage Granted(string provider, bool slack, bool includeRefresh)
    {
        var access = (slack ? "xoxe.xoxb-1-" : $"ya29.{provider}-") + Guid.NewGuid().ToString("N");
        _issued.Add(access);
        var body = new JsonObject { ["access_token"] = access, ["expires_in"] = 3599 };
        if (includeRefresh)
        {
            var refresh = (slack ? "xoxe-1-" : "1//") + Guid.NewGuid().ToString("N");
            _refreshTokens[refresh] = provider;
            _issued.Add(refresh);
            body["refresh_token"] = refresh;
        }

        if (slack)
        {
            body["ok"] = true;
            body["token_type"] = "bot";
            body["scope"] = "chat:write,incoming-webhook";
            body["bot_user_id"] = "U0KRQLJ9H";
            body["app_id"] = "A0KRD7HC3";
            // One workspace per grant, so events of one test's workspace route to its connection only.
            body["team"] = new JsonObject { ["name"] = "Slack Pickle", ["id"] = $"T{Interlocked.Increment(ref _sequence):D8}" };
            body["enterprise"] = null;
            body["authed_user"] = new JsonObject { ["id"] = "U1234" };
            body["incoming_webhook"] = new JsonObject
            {
                ["channel"] = "#deals",
                ["channel_id"] = "C0123DEALS",
                ["configuration_url"] = "https://teamname.slack.com/services/B1",
                ["url"] = "https://hooks.slack.com/TXXXXX/BXXXXX/XXXXXXXXXX",
            };
        }
        else
        {
            body["token_type"] = "Bearer";
            body["scope"] = provider == "google" ? "https://www.googleapis.com/auth/calendar.readonly email" : "public_api";
        }

        return Json(200, body);
    }

    private ResponseMessage Revoke(Dictionary<string, string> form)
    {
        var token = form.GetValueOrDefault("token") ?? string.Empty;
        if (!_issued.Contains(token))
        {
            return Json(400, new JsonObject { ["error"] = "invalid_token", ["error_description"] = "Token expired or revoked" });
        }

        _refreshTokens.TryRemove(token, out _);
        return Json(200, new JsonObject());
    }

    private ResponseMessage CreateWebhook(IRequestMessage request, string urlField)
    {
        var body = JsonNode.Parse(request.Body ?? "{}")!.AsObject();
        var url = body[urlField]!.GetValue<string>();
        var secret = urlField == "destination_url"
            ? "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))
            : Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        _webhookSecrets[url] = secret;
        var id = urlField == "destination_url"
            ? (JsonNode)Interlocked.Increment(ref _sequence)
            : "wh_" + Guid.NewGuid().ToString("N")[..12];
        body["id"] = id;
        body["url"] = url;
        body["secret"] = secret;
        body["created_at"] = DateTimeOffset.UtcNow.ToString("O");
        return Json(201, body);
    }

    private ResponseMessage Watch(IRequestMessage request)
    {
        var body = JsonNode.Parse(request.Body ?? "{}")!.AsObject();
        var id = body["id"]!.GetValue<string>();
        var token = body["token"]!.GetValue<string>();
        _channels[id] = (id, token);
        return Json(200, new JsonObject
        {
            ["kind"] = "api#channel",
            ["id"] = id,
            ["resourceId"] = "ret08u3rv24htgh289g",
            ["resourceUri"] = "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
            ["token"] = token,
            ["expiration"] =
                DateTimeOffset.UtcNow.AddDays(7).ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    // Google answers 404 for a channel it does not know (never created, or already stopped).
    private ResponseMessage StopChannel(IRequestMessage request)
    {
        var body = JsonNode.Parse(request.Body ?? "{}")!.AsObject();
        var id = body["id"]?.GetValue<string>();
        if (id is null || body["resourceId"] is null || !_channels.TryRemove(id, out _))
        {
            return Json(404, new JsonObject { ["error"] = new JsonObject { ["code"] = 404, ["message"] = "Channel not found" } });
        }

        _stoppedChannels.Enqueue(id);
        return NoContent();
    }

    private ResponseMessage FathomMeetings(IRequestMessage request)
    {
        var query = QueryHelpers.ParseQuery(new Uri(request.Url).Query);
        if (!query.ContainsKey("created_after") || query["include_transcript"] != "true")
        {
            return Json(400, new JsonObject { ["error"] = "expected created_after and include_transcript" });
        }

        var pages = _fathomPages;
        var index = query.TryGetValue("cursor", out var cursor)
            ? int.Parse(cursor.ToString()[5..], System.Globalization.CultureInfo.InvariantCulture)
            : 0;
        var items = new JsonArray(index < pages.Length ? pages[index].Select(m => m.DeepClone()).ToArray() : []);
        return Json(200, new JsonObject
        {
            ["items"] = items,
            ["limit"] = 10,
            ["next_cursor"] = index + 1 < pages.Length ? $"page-{index + 1}" : null,
        });
    }

    private ResponseMessage GoogleEvents(IRequestMessage request)
    {
        var query = QueryHelpers.ParseQuery(new Uri(request.Url).Query);
        if (query.TryGetValue("syncToken", out var syncToken))
        {
            if (GoogleSyncTokenExpired || syncToken != "sync-1")
            {
                return Json(410, new JsonObject
                {
                    ["error"] = new JsonObject
                    {
                        ["errors"] = new JsonArray
                        {
                            new JsonObject
                            {
                                ["domain"] = "global", ["reason"] = "fullSyncRequired",
                                ["message"] = "Sync token is no longer valid, a full sync is required.",
                            },
                        },
                        ["code"] = 410,
                        ["message"] = "Sync token is no longer valid, a full sync is required.",
                    },
                });
            }

            return Json(200, Events([.. _googleChanges], null, "sync-2"));
        }

        if (!query.ContainsKey("timeMin") || !query.ContainsKey("timeMax"))
        {
            return Json(400,
                new JsonObject { ["error"] = new JsonObject { ["code"] = 400, ["message"] = "expected timeMin and timeMax" } });
        }

        var full = _googleFull;
        var half = (full.Length + 1) / 2;
        return query.TryGetValue("pageToken", out var pageToken) && pageToken == "page-2"
            ? Json(200, Events(full[half..], null, "sync-1"))
            : Json(200, Events(full[..half], "page-2", null));
    }

    private ResponseMessage SlackPost(IRequestMessage request)
    {
        var body = JsonNode.Parse(request.Body ?? "{}")!.AsObject();
        var answer = _slackAnswers.TryDequeue(out var next) ? next : "ok";
        if (answer == "500")
        {
            return Json(500, new JsonObject { ["ok"] = false, ["error"] = "internal_error" });
        }

        if (answer == "429")
        {
            var limited = Json(429, new JsonObject { ["ok"] = false, ["error"] = "ratelimited" });
            limited.Headers!["Retry-After"] = new WireMockList<string>("30");
            return limited;
        }

        return answer == "ok"
            ? Json(200, new JsonObject
            {
                ["ok"] = true,
                ["channel"] = body["channel"]?.DeepClone(),
                ["ts"] = "1503435956.000247",
                ["message"] = new JsonObject { ["text"] = body["text"]?.DeepClone(), ["type"] = "message", ["subtype"] = "bot_message" },
            })
            : Json(200, new JsonObject { ["ok"] = false, ["error"] = answer });
    }

    private static JsonObject Events(JsonNode[] items, string? nextPage, string? nextSync)
    {
        var body = new JsonObject
        {
            ["kind"] = "calendar#events",
            ["summary"] = "sam@cleancrm.example",
            ["timeZone"] = "UTC",
            ["items"] = new JsonArray([.. items.Select(i => i.DeepClone())]),
        };
        if (nextPage is not null)
        {
            body["nextPageToken"] = nextPage;
        }

        if (nextSync is not null)
        {
            body["nextSyncToken"] = nextSync;
        }

        return body;
    }

    private static ResponseMessage NoContent() => new() { StatusCode = 204 };

    /// <summary>A provider REST call authenticated with an access token this stub issued.</summary>
    private void RouteApi(string method, string pathPrefix, Func<IRequestMessage, ResponseMessage> handle) =>
        Server.Given(Request.Create().UsingMethod(method)
                .WithPath(new RegexMatcher("^" + System.Text.RegularExpressions.Regex.Escape(pathPrefix))))
            .AtPriority(20)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                var bearer = Header(request, "Authorization");
                _calls.Enqueue((request.Path, [], bearer));
                return bearer is { Length: > 7 } && _issued.Contains(bearer[7..])
                    ? handle(request)
                    : Json(401, new JsonObject { ["error"] = "unauthorized" });
            }));

    private static bool Verifies(string? verifier, string challenge) => verifier is not null
        && WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))) == challenge;

    private static ResponseMessage Failure(bool slack, int status, string error, string description) => slack
        ? Json(200, new JsonObject { ["ok"] = false, ["error"] = error })
        : Json(status, new JsonObject { ["error"] = error, ["error_description"] = description });

    private void Route(string path, Func<Dictionary<string, string>, ResponseMessage> handle) =>
        Server.Given(Request.Create().UsingPost().WithPath(new ExactMatcher(path))).AtPriority(10)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                var form = ParseForm(request.Body);
                _calls.Enqueue((request.Path, form, Header(request, "Authorization")));
                return handle(form);
            }));

    private static string? Header(IRequestMessage request, string name) =>
        request.Headers?.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();

    private static Dictionary<string, string> ParseForm(string? body) =>
        QueryHelpers.ParseQuery(body ?? string.Empty).ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);

    private static ResponseMessage Json(int status, JsonNode body) => new()
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json; charset=utf-8") },
        BodyData = new BodyData { BodyAsString = body.ToJsonString(), DetectedBodyType = BodyType.String, Encoding = Encoding.UTF8 },
    };

    public void Dispose() => Server.Stop();
}
