using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Validation.AspNetCore;

namespace CleanCrm.Api.Security;

/// <summary>
/// Bearer authentication that validates each distinct access token once with OpenIddict and remembers the resulting
/// principal until the token expires. Access tokens are self-contained signed JWTs (no token-entry validation), so a
/// token that validated once stays valid until its <c>exp</c>: signature, issuer, audience and lifetime were checked, and
/// nothing else is consulted per request. Re-validating them on every request was ~15% of the API's CPU on the hot read
/// path (docs/performance.md). Failures are never cached (OpenIddict answers them, with its error description), and a
/// challenge or forbid goes to OpenIddict. Principals are shared between requests and treated as immutable (there is no
/// claims transformation).
/// </summary>
public sealed class CachedBearerHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ValidatedTokenCache cache) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "CleanCrm.Bearer";

    /// <summary>The cache key of a request's credentials: the whole <c>Authorization</c> value when it is one bearer token.</summary>
    /// <remarks>
    /// The whole header value is the key: it is already a string (no copy of a ~1 KB token per request), and two
    /// spellings of one token are merely two entries.
    /// </remarks>
    public static string? BearerKey(HttpRequest request) =>
        request.Headers.Authorization is { Count: 1 } header && header[0] is { Length: > 7 } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? value
            : null;

    /// <summary>A ticket for a principal validated earlier (same scheme name as OpenIddict's own tickets).</summary>
    public static AuthenticateResult Success(ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme));

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = BearerKey(Request);
        var now = TimeProvider.GetUtcNow();
        if (token is not null && cache.TryGet(token, now, out var cached))
        {
            return Success(cached);
        }

        await EnsureValidationRequestStateAsync();
        var result = await Context.AuthenticateAsync(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme);
        if (token is not null && result is { Succeeded: true, Principal: { } principal } && principal.GetExpirationDate() is { } expires)
        {
            cache.Add(token, principal, expires, now);
        }

        return result;
    }

    // Challenges and forbids are OpenIddict's (its error codes and WWW-Authenticate header).
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        await EnsureValidationRequestStateAsync();
        await Context.ChallengeAsync(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme, properties);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        await EnsureValidationRequestStateAsync();
        await Context.ForbidAsync(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme, properties);
    }

    // OpenIddict validation keeps per-request state (its transaction) that its request handling creates; a request
    // authenticated from the cache by ApiAuthenticationMiddleware skipped that step, so it runs here when needed.
    private async Task EnsureValidationRequestStateAsync()
    {
        if (Context.Features.Get<OpenIddictValidationAspNetCoreFeature>() is null
            && await Context.RequestServices.GetRequiredService<IAuthenticationHandlerProvider>()
                .GetHandlerAsync(Context, OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme) is IAuthenticationRequestHandler handler)
        {
            await handler.HandleRequestAsync();
        }
    }
}

/// <summary>Validated access tokens and their principals, bounded in number, each kept until its token expires.</summary>
public sealed class ValidatedTokenCache(IOptions<IdentityOptions> options)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly int _capacity = options.Value.ValidatedTokenCacheSize;
    private int _pruning;

    public int Count => _entries.Count;

    public bool TryGet(string token, DateTimeOffset now, out ClaimsPrincipal principal)
    {
        if (_entries.TryGetValue(token, out var entry))
        {
            if (entry.Expires > now)
            {
                principal = entry.Principal;
                return true;
            }

            _entries.TryRemove(new KeyValuePair<string, Entry>(token, entry));
        }

        principal = null!;
        return false;
    }

    public void Add(string token, ClaimsPrincipal principal, DateTimeOffset expires, DateTimeOffset now)
    {
        if (_capacity <= 0 || expires <= now)
        {
            return;
        }

        if (_entries.Count >= _capacity)
        {
            Prune(now);
            if (_entries.Count >= _capacity)
            {
                return;
            }
        }

        _entries[token] = new Entry(principal, expires);
    }

    // Drops expired entries; when every entry is still live, drops the ones expiring first (half the cache) so a flood of
    // distinct tokens costs validations, never unbounded memory. One pruner at a time; others just skip caching.
    private void Prune(DateTimeOffset now)
    {
        if (Interlocked.Exchange(ref _pruning, 1) == 1)
        {
            return;
        }

        try
        {
            foreach (var (key, entry) in _entries)
            {
                if (entry.Expires <= now)
                {
                    _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
                }
            }

            if (_entries.Count >= _capacity)
            {
                foreach (var (key, entry) in _entries.OrderBy(e => e.Value.Expires).Take(_entries.Count / 2).ToList())
                {
                    _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
                }
            }
        }
        finally
        {
            Volatile.Write(ref _pruning, 0);
        }
    }

    private sealed record Entry(ClaimsPrincipal Principal, DateTimeOffset Expires);
}
