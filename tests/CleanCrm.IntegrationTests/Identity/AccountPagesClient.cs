using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CleanCrm.IntegrationTests.Support;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>
/// A cookie-keeping client of the server-rendered account pages that follows no redirect by itself: each test sees
/// every hop. Forms are posted with the antiforgery token of the page last loaded.
/// </summary>
public sealed partial class AccountPagesClient(ApiFactory api)
{
    public const string SpaRedirectUri = "http://localhost:5173/callback";

    private string? _antiforgeryName;
    private string? _antiforgeryValue;

    public HttpClient Http { get; } =
        api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    /// <summary>A page; its antiforgery token is kept for the next post.</summary>
    public async Task<(HttpStatusCode Status, string Html)> GetAsync(string url)
    {
        using var response = await Http.GetAsync(url);
        var html = await response.Content.ReadAsStringAsync();
        Remember(html);
        return (response.StatusCode, html);
    }

    /// <summary>Posts a form of the last page (with its antiforgery token unless <paramref name="withAntiforgery"/> is false).</summary>
    public async Task<(HttpStatusCode Status, string Html, string? Location)> PostAsync(string url, Dictionary<string, string> fields,
        bool withAntiforgery = true)
    {
        if (withAntiforgery)
        {
            fields[_antiforgeryName ?? throw new InvalidOperationException("Load a page with a form first.")] = _antiforgeryValue!;
        }

        using var response = await Http.PostAsync(url, new FormUrlEncodedContent(fields));
        var html = await response.Content.ReadAsStringAsync();
        Remember(html);
        return (response.StatusCode, html, response.Headers.Location?.ToString());
    }

    /// <summary>The SPA's authorization request (code + PKCE) and its verifier.</summary>
    public static (string Url, string Verifier) AuthorizeRequest(string redirectUri = SpaRedirectUri)
    {
        var verifier = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var challenge = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.ASCII.GetBytes(verifier)))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var url = $"/connect/authorize?client_id=cleancrm-spa&response_type=code&redirect_uri={Uri.EscapeDataString(redirectUri)}" +
                  $"&scope=openid%20offline_access%20api&state=st&code_challenge={challenge}&code_challenge_method=S256";
        return (url, verifier);
    }

    /// <summary>Follows <paramref name="location"/> (the authorization endpoint) to the client's callback and redeems the code.</summary>
    public async Task<JsonElement> RedeemAsync(string location, string verifier)
    {
        using var toClient = await Http.GetAsync(location);
        toClient.StatusCode.ShouldBe(HttpStatusCode.Redirect, await toClient.Content.ReadAsStringAsync());
        var callback = toClient.Headers.Location!;
        callback.ToString().ShouldStartWith(SpaRedirectUri);
        var code = System.Web.HttpUtility.ParseQueryString(callback.Query)["code"]!;
        using var token = await api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = "cleancrm-spa",
            ["code"] = code,
            ["redirect_uri"] = SpaRedirectUri,
            ["code_verifier"] = verifier,
        }));
        var body = await token.Content.ReadAsStringAsync();
        token.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>The payload of a JWT (the access token), without checking it: the server already did.</summary>
    public static JsonElement JwtPayload(string jwt)
    {
        var part = jwt.Split('.')[1].Replace('-', '+').Replace('_', '/');
        part = part.PadRight(part.Length + ((4 - (part.Length % 4)) % 4), '=');
        return JsonDocument.Parse(Convert.FromBase64String(part)).RootElement.Clone();
    }

    public static string[] Amr(JsonElement payload) =>
        payload.TryGetProperty("amr", out var amr)
            ? amr.ValueKind == JsonValueKind.Array ? [.. amr.EnumerateArray().Select(a => a.GetString()!)] : [amr.GetString()!]
            : [];

    /// <summary>The text of the element with that id (a field's error, the form message), HTML-decoded.</summary>
    public static string TextOf(string html, string id)
    {
        var match = Regex.Match(html, $"id=\"{Regex.Escape(id)}\"[^>]*>([^<]*)<");
        match.Success.ShouldBeTrue($"no element #{id} in:\n{html}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    private void Remember(string html)
    {
        var match = AntiforgeryField().Match(html);
        if (match.Success)
        {
            _antiforgeryName = match.Groups[1].Value;
            _antiforgeryValue = WebUtility.HtmlDecode(match.Groups[2].Value);
        }
    }

    [GeneratedRegex("name=\"(__RequestVerificationToken[^\"]*)\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
