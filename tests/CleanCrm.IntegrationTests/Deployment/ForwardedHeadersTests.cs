using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Console;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Deployment;

/// <summary>
/// <c>CleanCrm:ForwardedHeaders</c> (docs/SECURITY.md "Reverse proxies and forwarded headers"): X-Forwarded-For/-Proto/-Host
/// set the client address, scheme and host only when the TCP peer is a configured proxy; from anyone else, and when nothing
/// is configured, they are ignored. The in-memory server has no TCP peer, so each request names the peer it simulates.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class ForwardedHeadersTests(SharedPlatform platform)
{
    private const string Proxy = "10.0.0.5";
    private const string Client = "203.0.113.77";

    [Fact]
    public async Task From_a_known_proxy_the_issuer_takes_the_forwarded_scheme_and_host_and_the_audit_log_the_client_address()
    {
        using var api = Api(new() { ["CleanCrm:ForwardedHeaders:KnownProxies:0"] = Proxy });

        (await IssuerAsync(api, Proxy)).ShouldBe("https://crm.example.test/");
        (await AuditedAddressAsync(api, Proxy)).ShouldBe(Client);
    }

    [Fact]
    public async Task A_proxy_inside_a_known_network_is_believed_too()
    {
        using var api = Api(new() { ["CleanCrm:ForwardedHeaders:KnownNetworks:0"] = "10.1.0.0/16" });

        (await IssuerAsync(api, "10.1.2.3")).ShouldBe("https://crm.example.test/");
        (await IssuerAsync(api, "10.2.0.1")).ShouldBe("http://localhost/", "outside the network");
    }

    [Fact]
    public async Task Only_the_entry_the_trusted_proxy_appended_is_believed_unless_more_hops_are_allowed()
    {
        // The client sent "X-Forwarded-For: 203.0.113.9"; the proxy appended its peer, which sits in the trusted network
        // (a NAT gateway in the compose subnet). One hop: the gateway. Two hops: the client's own claim.
        var settings = new Dictionary<string, string?> { ["CleanCrm:ForwardedHeaders:KnownNetworks:0"] = "172.28.0.0/16" };
        using var oneHop = Api(settings);
        (await AuditedAddressAsync(oneHop, "172.28.0.10", "203.0.113.9, 172.28.0.1")).ShouldBe("172.28.0.1");

        settings["CleanCrm:ForwardedHeaders:ForwardLimit"] = "2";
        using var twoHops = Api(settings);
        (await AuditedAddressAsync(twoHops, "172.28.0.10", "203.0.113.9, 172.28.0.1")).ShouldBe("203.0.113.9");
    }

    [Theory]
    [InlineData("10.9.9.9")]
    [InlineData("127.0.0.1")] // The framework's default list trusts loopback; ours does not.
    public async Task From_any_other_peer_the_headers_are_ignored(string peer)
    {
        using var api = Api(new() { ["CleanCrm:ForwardedHeaders:KnownProxies:0"] = Proxy });

        (await IssuerAsync(api, peer)).ShouldBe("http://localhost/");
        (await AuditedAddressAsync(api, peer)).ShouldBe(peer);
    }

    [Fact]
    public async Task With_nothing_configured_no_peer_is_believed()
    {
        using var api = Api([]);

        (await IssuerAsync(api, "127.0.0.1")).ShouldBe("http://localhost/");
        (await AuditedAddressAsync(api, Proxy)).ShouldBe(Proxy);
    }

    [Fact]
    public async Task Behind_a_known_proxy_each_client_address_has_its_own_rate_limit_and_spoofed_ones_share_the_peers()
    {
        using var api = Api(new()
        {
            ["CleanCrm:ForwardedHeaders:KnownProxies:0"] = Proxy,
            ["CleanCrm:AbuseProtection:TokenRequestsPerMinutePerIp"] = "1",
        });
        var client = api.CreateClient();
        async Task<HttpStatusCode> TokenAsync(string peer, string forwardedFor)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
            };
            request.Headers.Add(SimulatedPeer.Header, peer);
            request.Headers.Add("X-Forwarded-For", forwardedFor);
            return (await client.SendAsync(request)).StatusCode;
        }

        (await TokenAsync(Proxy, "198.51.100.1")).ShouldBe(HttpStatusCode.BadRequest);
        (await TokenAsync(Proxy, "198.51.100.1")).ShouldBe(HttpStatusCode.TooManyRequests);
        (await TokenAsync(Proxy, "198.51.100.2")).ShouldBe(HttpStatusCode.BadRequest, "another client behind the same proxy");

        (await TokenAsync("10.9.9.9", "198.51.100.3")).ShouldBe(HttpStatusCode.BadRequest);
        (await TokenAsync("10.9.9.9", "198.51.100.4"))
            .ShouldBe(HttpStatusCode.TooManyRequests, "a direct client cannot pick a fresh address");
    }

    [Theory]
    [InlineData("CleanCrm:ForwardedHeaders:KnownProxies:0", "10.0.0", "KnownProxies")]
    [InlineData("CleanCrm:ForwardedHeaders:KnownNetworks:0", "10.0.0.0", "KnownNetworks")]
    [InlineData("CleanCrm:ForwardedHeaders:ForwardLimit", "0", "ForwardLimit")]
    public void An_unparsable_entry_stops_the_host_at_startup(string key, string value, string named)
    {
        using var api = Api(new() { [key] = value });
        Should.Throw<InvalidOperationException>(() => api.CreateClient()).Message.ShouldContain(named);
    }

    [Fact]
    public async Task The_console_builds_its_sign_in_callback_from_the_forwarded_scheme_and_host_only_behind_a_known_proxy()
    {
        using var api = Api([]);
        using var console = new ConsoleFactory(platform, api, Proxy);
        var browser = console.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        async Task<string?> RedirectUriAsync(string peer)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/");
            request.Headers.Add(SimulatedPeer.Header, peer);
            request.Headers.Add("X-Forwarded-Proto", "https");
            request.Headers.Add("X-Forwarded-Host", "console.example.test");
            var challenge = await browser.SendAsync(request);
            challenge.StatusCode.ShouldBe(HttpStatusCode.Redirect);
            return System.Web.HttpUtility.ParseQueryString(challenge.Headers.Location!.Query)["redirect_uri"];
        }

        (await RedirectUriAsync(Proxy)).ShouldBe("https://console.example.test/signin-oidc");
        (await RedirectUriAsync("10.9.9.9")).ShouldBe("http://localhost/signin-oidc");
    }

    private ApiFactory Api(Dictionary<string, string?> settings) =>
        new(platform, settings, services => services.AddTransient<IStartupFilter, SimulatedPeer>());

    private static async Task<string?> IssuerAsync(ApiFactory api, string peer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/openid-configuration");
        request.Headers.Add(SimulatedPeer.Header, peer);
        request.Headers.Add("X-Forwarded-For", Client);
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-Host", "crm.example.test");
        var response = await api.CreateClient().SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("issuer").GetString();
    }

    /// <summary>Suspends a fresh organization as a platform admin through <paramref name="peer"/>; returns the logged address.</summary>
    private async Task<string?> AuditedAddressAsync(ApiFactory api, string peer, string forwardedFor = Client)
    {
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        var organization = await platform.CreateOrganizationAsync();
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={admin.Id};admin");
        client.DefaultRequestHeaders.Add(SimulatedPeer.Header, peer);
        client.DefaultRequestHeaders.Add("X-Forwarded-For", forwardedFor);
        var suspended = await client.PostAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/suspend", new { reason = "test" });
        suspended.StatusCode.ShouldBe(HttpStatusCode.OK, await suspended.Content.ReadAsStringAsync());

        var log = await client.GetAsync($"/api/v1/admin/audit-log?organizationId={organization.Id}");
        var body = await log.Content.ReadAsStringAsync();
        log.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        var entry = JsonDocument.Parse(body).RootElement.GetProperty("items").EnumerateArray().ShouldHaveSingleItem();
        return entry.GetProperty("ipAddress").GetString();
    }

    /// <summary>Sets the connection's peer address from a test header before the application's pipeline runs.</summary>
    private sealed class SimulatedPeer : IStartupFilter
    {
        public const string Header = "X-Test-Peer";

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                // No header: a client that is no proxy (the in-memory server would otherwise leave the peer unknown).
                context.Connection.RemoteIpAddress = IPAddress.Parse(
                    context.Request.Headers.TryGetValue(Header, out var peer) ? peer.ToString() : "192.0.2.1");
                context.Request.Headers.Remove(Header);
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    private sealed class ConsoleFactory(PlatformEnvironment platform, ApiFactory api, string proxy) : WebApplicationFactory<ConsoleProgram>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            foreach (var (key, value) in platform.Settings)
            {
                builder.UseSetting(key, value);
            }

            builder.UseSetting("CleanCrm:Console:ApiBaseUrl", "http://localhost/");
            builder.UseSetting("CleanCrm:Console:ClientSecret", "console-test-secret-0123456789");
            builder.UseSetting("CleanCrm:ForwardedHeaders:KnownProxies:0", proxy);
            builder.ConfigureTestServices(services =>
            {
                services.AddTransient<IStartupFilter, SimulatedPeer>();
                services.Configure<OpenIdConnectOptions>(
                    OpenIdConnectDefaults.AuthenticationScheme, options => options.BackchannelHttpHandler = api.Server.CreateHandler());
            });
        }
    }
}
