using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CleanCrm.IntegrationTests.Support;

/// <summary>
/// A second, minimal OpenID Connect provider on a loopback port, standing in for an organization's identity provider:
/// discovery, JWKS, an authorization endpoint that signs in <see cref="Email"/> at once, and a token endpoint that checks
/// the code, client secret, redirect URI and PKCE verifier and returns a signed ID token. A test can make it misbehave
/// (another issuer, another nonce) to see the relying party refuse.
/// </summary>
public sealed class TestOidcProvider : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RsaSecurityKey _key = new(RSA.Create(2048)) { KeyId = "test-idp-key" };
    private readonly ConcurrentDictionary<string, Grant> _codes = new();

    private TestOidcProvider(WebApplication app) => _app = app;

    public string Issuer { get; private set; } = string.Empty;

    public string ClientId { get; } = "cleancrm-test";

    public string ClientSecret { get; } = "test-idp-secret-" + Guid.NewGuid().ToString("N");

    /// <summary>Who signs in at the authorization endpoint.</summary>
    public string Email { get; set; } = "someone@example.com";

    /// <summary>When set, the ID token claims this issuer instead of the real one.</summary>
    public string? IssuerOverride { get; set; }

    /// <summary>When set, the ID token carries this nonce instead of the one requested.</summary>
    public string? NonceOverride { get; set; }

    public static async Task<TestOidcProvider> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var provider = new TestOidcProvider(app);
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = provider.Issuer,
            ["authorization_endpoint"] = provider.Issuer + "/authorize",
            ["token_endpoint"] = provider.Issuer + "/token",
            ["jwks_uri"] = provider.Issuer + "/jwks",
            ["response_types_supported"] = new[] { "code" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        app.MapGet("/jwks", () => Results.Json(new
        {
            keys = new[] { JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(provider._key.Rsa.ExportParameters(false))
            {
                KeyId = provider._key.KeyId,
            }) }.Select(k => new { kty = k.Kty, kid = k.Kid, use = "sig", alg = "RS256", n = k.N, e = k.E }),
        }));
        app.MapGet("/authorize", (HttpRequest request) => provider.Authorize(request));
        app.MapPost("/token", async (HttpRequest request) => provider.Token(await request.ReadFormAsync()));
        await app.StartAsync();
        provider.Issuer = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()
            .TrimEnd('/');
        return provider;
    }

    private IResult Authorize(HttpRequest request)
    {
        var query = request.Query;
        if (query["client_id"] != ClientId || query["response_type"] != "code" || query["code_challenge_method"] != "S256")
        {
            return Results.BadRequest("invalid_request");
        }

        var code = Guid.NewGuid().ToString("N");
        _codes[code] = new Grant(query["redirect_uri"]!, query["nonce"]!, query["code_challenge"]!);
        return Results.Redirect($"{query["redirect_uri"]}?code={code}&state={Uri.EscapeDataString(query["state"]!)}");
    }

    private IResult Token(IFormCollection form)
    {
        if (!_codes.TryRemove(form["code"].ToString(), out var grant) || form["client_id"] != ClientId
            || form["client_secret"] != ClientSecret || form["redirect_uri"] != grant.RedirectUri
            || Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString()))) != grant.Challenge)
        {
            return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
        }

        var now = DateTime.UtcNow;
        var idToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = IssuerOverride ?? Issuer,
            Audience = ClientId,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(5),
            Subject = new ClaimsIdentity(
            [
                new Claim("sub", "idp-" + Email),
                new Claim("email", Email),
                new Claim("email_verified", "true", ClaimValueTypes.Boolean),
                new Claim("name", "Federated Person"),
                new Claim("nonce", NonceOverride ?? grant.Nonce),
            ]),
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.RsaSha256),
        });
        return Results.Json(new { access_token = "opaque", token_type = "Bearer", expires_in = 300, id_token = idToken });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed record Grant(string RedirectUri, string Nonce, string Challenge);
}
