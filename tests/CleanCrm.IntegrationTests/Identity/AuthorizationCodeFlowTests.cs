using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>Authorization code + PKCE for the SPA client, end to end through the server-rendered sign-in page.</summary>
[Collection(PlatformCollection.Name)]
public sealed partial class AuthorizationCodeFlowTests(SharedPlatform platform)
{
    private const string Password = "correct horse battery staple";
    private const string RedirectUri = "http://localhost:5173/callback";

    [Fact]
    public async Task The_spa_signs_in_through_the_login_page_and_exchanges_the_code_with_its_verifier()
    {
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var user = await platform.CreateUserAsync();
        var hash = new CleanCrm.Infrastructure.Provisioning.PasswordHashing().Hash(Password);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE users SET password_hash = '{hash}' WHERE id = '{user.Id}'", platform.CatalogDatabase);
        var browser = api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var authorize = $"/connect/authorize?client_id=cleancrm-spa&response_type=code&redirect_uri={Uri.EscapeDataString(RedirectUri)}" +
            $"&scope=openid%20api&state=s123&code_challenge={challenge}&code_challenge_method=S256";

        var toLogin = await browser.GetAsync(authorize);
        toLogin.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var loginUrl = toLogin.Headers.Location!.ToString();
        loginUrl.ShouldStartWith("/account/login?returnUrl=");

        var page = await browser.GetAsync(loginUrl);
        page.StatusCode.ShouldBe(HttpStatusCode.OK);
        page.Headers.GetValues("X-Frame-Options").ShouldBe(["DENY"]);
        var html = await page.Content.ReadAsStringAsync();
        var antiforgery = AntiforgeryField().Match(html);
        antiforgery.Success.ShouldBeTrue(html);
        var returnUrl = WebUtility.HtmlDecode(ReturnUrlField().Match(html).Groups[1].Value);

        var wrong = await browser.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [antiforgery.Groups[1].Value] = WebUtility.HtmlDecode(antiforgery.Groups[2].Value),
            ["returnUrl"] = returnUrl,
            ["email"] = user.Email,
            ["password"] = "wrong one 123",
        }));
        wrong.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await wrong.Content.ReadAsStringAsync()).ShouldContain("incorrect");
        var csrf = await api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false })
            .PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["returnUrl"] = returnUrl,
                ["email"] = user.Email,
                ["password"] = Password,
            }));
        csrf.StatusCode.ShouldBe(HttpStatusCode.BadRequest, "no antiforgery token, no sign-in");

        var signedIn = await browser.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [antiforgery.Groups[1].Value] = WebUtility.HtmlDecode(antiforgery.Groups[2].Value),
            ["returnUrl"] = returnUrl,
            ["email"] = user.Email,
            ["password"] = Password,
        }));
        signedIn.StatusCode.ShouldBe(HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
        signedIn.Headers.Location!.ToString().ShouldStartWith("/connect/authorize?");

        var toClient = await browser.GetAsync(signedIn.Headers.Location!.ToString());
        toClient.StatusCode.ShouldBe(HttpStatusCode.Redirect, await toClient.Content.ReadAsStringAsync());
        var callback = toClient.Headers.Location!;
        callback.ToString().ShouldStartWith(RedirectUri);
        var query = System.Web.HttpUtility.ParseQueryString(callback.Query);
        query["state"].ShouldBe("s123");
        var code = query["code"]!;

        var withoutVerifier = await api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = "cleancrm-spa",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri,
            ["code_verifier"] = "wrong-verifier-wrong-verifier-wrong-verifier-1",
        }));
        withoutVerifier.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        // The code was consumed by the failed attempt above (codes are single-use), so run the flow once more.
        var again = await browser.GetAsync(authorize);
        again.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var code2 = System.Web.HttpUtility.ParseQueryString(again.Headers.Location!.Query)["code"]!;
        var token = await api.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = "cleancrm-spa",
            ["code"] = code2,
            ["redirect_uri"] = RedirectUri,
            ["code_verifier"] = verifier,
        }));
        token.StatusCode.ShouldBe(HttpStatusCode.OK, await token.Content.ReadAsStringAsync());
        var accessToken = (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", accessToken);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/me")).GetProperty("id").GetGuid().ShouldBe(user.Id);
    }

    [Fact]
    public async Task The_spa_cannot_start_without_pkce_and_the_login_page_refuses_foreign_return_urls()
    {
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var browser = api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var noPkce = await browser.GetAsync(
            $"/connect/authorize?client_id=cleancrm-spa&response_type=code&redirect_uri={Uri.EscapeDataString(RedirectUri)}" +
            $"&scope=openid%20api&state=x");
        ((int)noPkce.StatusCode).ShouldBeOneOf(302, 400);
        if (noPkce.StatusCode == HttpStatusCode.Redirect)
        {
            noPkce.Headers.Location!.ToString().ShouldContain("error=invalid_request");
        }

        var page = await (await browser.GetAsync("/account/login?returnUrl=https%3A%2F%2Fevil.example%2F")).Content.ReadAsStringAsync();
        page.ShouldContain("Sign in to CleanCrm");
    }

    [GeneratedRegex("name=\"(__RequestVerificationToken[^\"]*)\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    [GeneratedRegex("name=\"returnUrl\" value=\"([^\"]*)\"")]
    private static partial Regex ReturnUrlField();
}
