using System.Net;
using System.Text.RegularExpressions;
using CleanCrm.Console;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Console;

/// <summary>
/// The provisioning console (docs/CONSOLE.md) hosted for real against the platform's catalog, signing in through the real API's
/// OpenID server: anonymous visitors are sent to the authorize endpoint with PKCE, admins get in, other users get the
/// "Access denied" page with 403, /jobs is closed to all but admins, and sign-out ends the server session too.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed partial class ConsoleSignInTests(SharedPlatform platform)
{
    private const string Password = "console password 123";
    private const string Secret = "console-test-secret-0123456789";

    [Fact]
    public async Task Anonymous_visitors_are_sent_to_the_authorize_endpoint_with_pkce_and_jobs_is_refused()
    {
        var (_, console) = await HostsAsync();
        var anonymous = console.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var home = await anonymous.GetAsync("/");
        home.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var authorize = home.Headers.Location!;
        authorize.GetLeftPart(UriPartial.Path).ShouldBe("http://localhost/connect/authorize");
        var query = System.Web.HttpUtility.ParseQueryString(authorize.Query);
        query["client_id"].ShouldBe("cleancrm-console");
        query["response_type"].ShouldBe("code");
        query["code_challenge_method"].ShouldBe("S256");
        query["code_challenge"].ShouldNotBeNullOrEmpty();
        query["redirect_uri"].ShouldBe("http://localhost/signin-oidc");

        var jobs = await anonymous.GetAsync("/jobs");
        jobs.StatusCode.ShouldBe(HttpStatusCode.Redirect, "the dashboard is never served to anonymous visitors");
        jobs.Headers.Location!.GetLeftPart(UriPartial.Path).ShouldBe("http://localhost/connect/authorize");
        (await anonymous.GetAsync("/jobs/stats")).StatusCode.ShouldBe(HttpStatusCode.Redirect);

        var forged = await anonymous.PostAsync("/signout", new FormUrlEncodedContent([]));
        forged.StatusCode.ShouldNotBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_platform_admin_signs_in_sees_the_console_and_the_jobs_and_signs_out_of_both()
    {
        var (api, console) = await HostsAsync();
        var admin = await UserAsync(platformAdmin: true);
        var browser = new Browser(api, console);

        var home = await browser.SignInAsync(admin.Email);
        home.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await home.Content.ReadAsStringAsync();
        html.ShouldContain("<h1>Fleet overview</h1>");
        html.ShouldContain(">Sign out</button>");
        home.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("script-src 'self';");

        var jobs = await browser.Console.GetAsync("/jobs");
        jobs.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await jobs.Content.ReadAsStringAsync()).ShouldContain("CleanCrm jobs");
        jobs.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("script-src 'self' 'unsafe-inline'",
            customMessage: "the dashboard's own inline scripts need their looser policy");

        var signOut = await browser.Console.PostAsync("/signout", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [Antiforgery().Match(html).Groups[1].Value] = WebUtility.HtmlDecode(Antiforgery().Match(html).Groups[2].Value),
        }));
        signOut.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var endSession = signOut.Headers.Location!;
        endSession.GetLeftPart(UriPartial.Path).ShouldBe("http://localhost/connect/logout");
        var endQuery = System.Web.HttpUtility.ParseQueryString(endSession.Query);
        endQuery["id_token_hint"].ShouldNotBeNullOrEmpty();
        endQuery["post_logout_redirect_uri"].ShouldBe("http://localhost/signout-callback-oidc");

        var back = await browser.Api.GetAsync(endSession.PathAndQuery);
        back.StatusCode.ShouldBe(HttpStatusCode.Redirect, await back.Content.ReadAsStringAsync());
        back.Headers.Location!.ToString().ShouldStartWith("http://localhost/signout-callback-oidc");
        var signedOut = await browser.Console.GetAsync(back.Headers.Location!.PathAndQuery);
        signedOut.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        signedOut.Headers.Location!.ToString().ShouldBe("/signed-out");

        // Both sessions are gone: the console asks to sign in again, and so does the API's authorize endpoint.
        var again = await browser.Console.GetAsync("/");
        again.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var login = await browser.Api.GetAsync(again.Headers.Location!.PathAndQuery);
        login.Headers.Location!.ToString().ShouldStartWith("/account/login");
    }

    [Fact]
    public async Task A_user_who_is_not_a_platform_admin_gets_access_denied_with_403_everywhere()
    {
        var (api, console) = await HostsAsync();
        var user = await UserAsync(platformAdmin: false);
        var browser = new Browser(api, console);

        var home = await browser.SignInAsync(user.Email);
        home.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var html = await home.Content.ReadAsStringAsync();
        html.ShouldContain("<h1>Access denied</h1>");
        html.ShouldNotContain("href=\"/organizations\"");
        (await browser.Console.GetAsync("/jobs")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await browser.Console.GetAsync("/organizations")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    private async Task<Hosts> HostsAsync() =>
        await platform.SharedAsync("console-hosts", async () =>
        {
            // Registers cleancrm-console as `migrate` does, with this test's redirect URIs and secret.
            var registration = new Dictionary<string, string?>(platform.Settings)
            {
                ["CleanCrm:Identity:ConsoleClientSecret"] = Secret,
                ["CleanCrm:Identity:ConsoleRedirectUris:0"] = "http://localhost/signin-oidc",
                ["CleanCrm:Identity:ConsolePostLogoutRedirectUris:0"] = "http://localhost/signout-callback-oidc",
            };
            await using (var services = PlatformEnvironment.BuildServices(registration))
            {
                await services.GetRequiredService<IdentityBootstrap>().EnsureAsync(CancellationToken.None);
            }

            var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
            return new Hosts(api, new ConsoleFactory(platform, api));
        });

    private async Task<CleanCrm.Domain.Catalog.UserAccount> UserAsync(bool platformAdmin)
    {
        var user = await platform.CreateUserAsync(platformAdmin: platformAdmin);
        var hash = new PasswordHashing().Hash(Password);
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"UPDATE users SET password_hash = '{hash}' WHERE id = '{user.Id}'", platform.CatalogDatabase);
        return user;
    }

    [GeneratedRegex("name=\"(__RequestVerificationToken)\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex Antiforgery();

    [GeneratedRegex("name=\"(__RequestVerificationToken)\" value=\"([^\"]+)\"")]
    private static partial Regex LoginAntiforgery();

    [GeneratedRegex("name=\"returnUrl\" value=\"([^\"]*)\"")]
    private static partial Regex ReturnUrlField();

    private sealed record Hosts(ApiFactory Api, WebApplicationFactory<ConsoleProgram> Console)
    {
        public void Deconstruct(out ApiFactory api, out WebApplicationFactory<ConsoleProgram> console) => (api, console) = (Api, Console);
    }

    /// <summary>A browser with one cookie jar per host (both answer on http://localhost in memory), following redirects by hand.</summary>
    private sealed class Browser(ApiFactory api, WebApplicationFactory<ConsoleProgram> console)
    {
        public HttpClient Api { get; } = api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        public HttpClient Console { get; } = console.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        public async Task<HttpResponseMessage> SignInAsync(string email)
        {
            var challenge = await Console.GetAsync("/");
            challenge.StatusCode.ShouldBe(HttpStatusCode.Redirect);
            var toLogin = await Api.GetAsync(challenge.Headers.Location!.PathAndQuery);
            toLogin.StatusCode.ShouldBe(HttpStatusCode.Redirect);
            var page = await (await Api.GetAsync(toLogin.Headers.Location!.ToString())).Content.ReadAsStringAsync();
            var token = LoginAntiforgery().Match(page);
            token.Success.ShouldBeTrue(page);
            var signedIn = await Api.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                [token.Groups[1].Value] = WebUtility.HtmlDecode(token.Groups[2].Value),
                ["returnUrl"] = WebUtility.HtmlDecode(ReturnUrlField().Match(page).Groups[1].Value),
                ["email"] = email,
                ["password"] = Password,
            }));
            signedIn.StatusCode.ShouldBe(HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
            var toConsole = await Api.GetAsync(signedIn.Headers.Location!.ToString());
            toConsole.StatusCode.ShouldBe(HttpStatusCode.Redirect, await toConsole.Content.ReadAsStringAsync());
            var callback = toConsole.Headers.Location!;
            callback.GetLeftPart(UriPartial.Path).ShouldBe("http://localhost/signin-oidc");
            var landed = await Console.GetAsync(callback.PathAndQuery);
            landed.StatusCode.ShouldBe(HttpStatusCode.Redirect, await landed.Content.ReadAsStringAsync());
            return await Console.GetAsync(landed.Headers.Location!.ToString());
        }
    }

    private sealed class ConsoleFactory(PlatformEnvironment platform, ApiFactory api) : WebApplicationFactory<ConsoleProgram>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            foreach (var (key, value) in platform.Settings)
            {
                builder.UseSetting(key, value);
            }

            builder.UseSetting("CleanCrm:Console:ApiBaseUrl", "http://localhost/");
            builder.UseSetting("CleanCrm:Console:ClientSecret", Secret);
            // Discovery, keys and the code exchange go to the in-memory API.
            builder.ConfigureTestServices(services => services.Configure<OpenIdConnectOptions>(
                OpenIdConnectDefaults.AuthenticationScheme, options => options.BackchannelHttpHandler = api.Server.CreateHandler()));
        }
    }
}
