using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using WireMock;
using WireMock.Logging;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using WireMock.Types;
using WireMock.Util;

namespace CleanCrm.IntegrationTests.Secrets;

/// <summary>
/// An HTTPS WireMock server that speaks enough of Key Vault's secrets REST API, with soft delete, for a real
/// <c>SecretClient</c> to run against it: challenge authentication, set, get, list (paged with
/// <c>nextLink</c>), delete, deleted-secret lookup, purge and recover. Requests without the expected bearer token or api-version never
/// reach the
/// secret routes.
/// </summary>
internal sealed class KeyVaultStub : IDisposable
{
    public const string TenantId = "3f6c2a4e-8b1d-4c59-9e7a-0d2b5f8a1c34";
    public const string AccessToken = "stub-access-token";

    private const int RoutePriority = 10;
    private const int InjectedFailurePriority = 1;
    private const int FallbackPriority = 1000;
    private const string SecretNamePattern = "[a-zA-Z0-9-]+";

    // Key Vault's own default page size (maxresults) for listing secrets.
    private const int DefaultListPageSize = 25;

    // Kestrel needs a certificate for HTTPS and a fresh machine has no developer certificate; one per test run will do.
    private static readonly Lazy<X509Certificate2> SelfSignedCertificate = new(CreateSelfSignedCertificate);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<StoredVersion>> _live = [];
    private readonly Dictionary<string, List<StoredVersion>> _softDeleted = [];

    public KeyVaultStub()
    {
        Server = WireMockServer.Start(new WireMockServerSettings
        {
            UseSSL = true,
            CertificateSettings = new WireMockCertificateSettings { X509Certificate = SelfSignedCertificate.Value },
        });
        MapSecretRoutes();
        MapFallback();
    }

    public WireMockServer Server { get; }

    public Uri VaultUri => new(Server.Url!);

    /// <summary>When set, purges are refused with 403 as in a vault with purge protection.</summary>
    public bool PurgeProtected { get; set; }

    /// <summary>How many secrets one page of <c>GET /secrets</c> lists before pointing to the next with <c>nextLink</c>.</summary>
    public int ListPageSize { get; set; } = DefaultListPageSize;

    public IReadOnlyList<IRequestMessage> Requests => [.. Server.LogEntries.Select(entry => entry.RequestMessage)];

    public IReadOnlyList<ILogEntry> Exchanges => [.. Server.LogEntries];

    public IReadOnlyList<string> VersionsOf(string name)
    {
        lock (_gate)
        {
            return _live.TryGetValue(name, out var versions) ? [.. versions.Select(v => v.Value)] : [];
        }
    }

    public bool IsSoftDeleted(string name)
    {
        lock (_gate)
        {
            return _softDeleted.ContainsKey(name);
        }
    }

    /// <summary>Adds a version to a live secret as a write would, or a disabled one, which Key Vault refuses to read.</summary>
    public void Seed(string name, string value, bool enabled = true)
    {
        lock (_gate)
        {
            if (!_live.TryGetValue(name, out var versions))
            {
                _live[name] = versions = [];
            }

            versions.Add(new StoredVersion(NewVersionId(), value, DateTimeOffset.UtcNow, enabled));
        }
    }

    public void SeedSoftDeleted(string name, string value)
    {
        lock (_gate)
        {
            _softDeleted[name] = [new StoredVersion(NewVersionId(), value, DateTimeOffset.UtcNow)];
        }
    }

    /// <summary>
    /// Makes every authenticated request (or only those whose path matches <paramref name="pathPattern"/>) fail
    /// with <paramref name="status"/>, as a vault in trouble would.
    /// </summary>
    /// <returns>The mapping's id: <c>Server.DeleteMapping(id)</c> ends the failure.</returns>
    public Guid FailAuthenticatedRequestsWith(int status, string? pathPattern = null)
    {
        var id = Guid.NewGuid();
        Server.Given(Authenticated(pathPattern is null
                ? Request.Create().UsingAnyMethod()
                : Request.Create().UsingAnyMethod().WithPath(new RegexMatcher(pathPattern))))
            .WithGuid(id)
            .AtPriority(InjectedFailurePriority)
            .RespondWith(Response.Create().WithCallback(_ =>
                Error(status, "InternalServerError", "The stub vault was told to fail.")));
        return id;
    }

    /// <summary>Makes every request, the challenge included, wait <paramref name="delay"/> before any answer (a silent vault).</summary>
    /// <returns>The mapping's id: <c>Server.DeleteMapping(id)</c> ends the delay.</returns>
    public Guid DelayEveryRequestBy(TimeSpan delay)
    {
        var id = Guid.NewGuid();
        Server.Given(Request.Create().UsingAnyMethod())
            .WithGuid(id)
            .AtPriority(InjectedFailurePriority - 1)
            .RespondWith(Response.Create().WithDelay(delay).WithCallback(_ =>
                Error(503, "ServiceUnavailable", "The stub vault answered too late.")));
        return id;
    }

    public void Dispose() => Server.Stop();

    private void MapSecretRoutes()
    {
        Route("PUT", $"^/secrets/{SecretNamePattern}$", SetSecret);
        // Older clients ask for the latest version as /secrets/{name}/ (empty version); 4.12 sends /secrets/{name}.
        Route("GET", $"^/secrets/{SecretNamePattern}(/({SecretNamePattern})?)?$", GetSecret);
        Route("DELETE", $"^/secrets/{SecretNamePattern}$", DeleteSecret);
        Server.Given(Authenticated(Request.Create().UsingGet().WithPath(new RegexMatcher("^/secrets/?$"))))
            .AtPriority(RoutePriority)
            .RespondWith(Response.Create().WithCallback(ListSecrets));
        Route("GET", $"^/deletedsecrets/{SecretNamePattern}$", GetDeletedSecret);
        Route("DELETE", $"^/deletedsecrets/{SecretNamePattern}$", PurgeDeletedSecret);
        Route("POST", $"^/deletedsecrets/{SecretNamePattern}/recover$", RecoverDeletedSecret);
    }

    private void Route(string method, string pathPattern, Func<IRequestMessage, string, ResponseMessage> handle) =>
        Server.Given(Authenticated(Request.Create().UsingMethod(method).WithPath(new RegexMatcher(pathPattern))))
            .AtPriority(RoutePriority)
            .RespondWith(Response.Create().WithCallback(request => handle(request, SecretNameOf(request))));

    private static IRequestBuilder Authenticated(IRequestBuilder request) =>
        request
            .WithHeader("Authorization", $"Bearer {AccessToken}")
            .WithParam(query => query.TryGetValue("api-version", out var versions) && versions.Any(v => v.Length > 0));

    /// <summary>Answers whatever the secret routes did not: Key Vault's challenge, or a loud 400.</summary>
    private void MapFallback() =>
        Server.Given(Request.Create().UsingAnyMethod())
            .AtPriority(FallbackPriority)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                if (!CarriesAccessToken(request))
                {
                    return Challenge();
                }

                return request.Query?.ContainsKey("api-version") == true
                    ? Error(400, "StubUnmatched", $"The stub has no route for {request.Method} {request.Path}.")
                    : Error(400, "BadParameter", "The 'api-version' query parameter is missing.");
            }));

    private static bool CarriesAccessToken(IRequestMessage request) =>
        request.Headers?.Any(header =>
            header.Key.Equals("Authorization", StringComparison.OrdinalIgnoreCase) &&
            header.Value.Contains($"Bearer {AccessToken}")) == true;

    private ResponseMessage SetSecret(IRequestMessage request, string name)
    {
        var value = JsonNode.Parse(request.Body ?? "{}")?["value"]?.GetValue<string>();
        if (value is null)
        {
            return Error(400, "BadParameter", "Property 'value' is required.");
        }

        lock (_gate)
        {
            if (_softDeleted.ContainsKey(name))
            {
                return Error(409, "Conflict",
                    $"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the " +
                        $"secret can only be recovered or purged.");
            }

            var version = new StoredVersion(NewVersionId(), value, DateTimeOffset.UtcNow);
            if (!_live.TryGetValue(name, out var versions))
            {
                _live[name] = versions = [];
            }

            versions.Add(version);
            return Json(200, SecretBundle(name, version));
        }
    }

    private ResponseMessage GetSecret(IRequestMessage request, string name)
    {
        var requestedVersion = request.PathSegments.Length > 2 ? request.PathSegments[2] : string.Empty;
        lock (_gate)
        {
            var version = _live.TryGetValue(name, out var versions)
                ? versions.LastOrDefault(v => requestedVersion.Length == 0 || v.Id == requestedVersion)
                : null;
            if (version is null)
            {
                return Error(404, "SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault.");
            }

            return version.Enabled
                ? Json(200, SecretBundle(name, version))
                : Error(403, "Forbidden", "Operation get is not allowed on a disabled secret.");
        }
    }

    /// <summary>
    /// <c>GET /secrets</c>: the current version's attributes of every live secret, without values, a page at a time.
    /// Like Key Vault's, the <c>nextLink</c> is absolute and carries the api-version and an opaque skip token.
    /// </summary>
    private ResponseMessage ListSecrets(IRequestMessage request)
    {
        var apiVersion = request.Query!["api-version"][0];
        var skip = 0;
        if (request.Query.TryGetValue("$skiptoken", out var skipTokens) &&
            !int.TryParse(skipTokens[0], NumberStyles.None, CultureInfo.InvariantCulture, out skip))
        {
            return Error(400, "BadParameter", "The skip token is invalid.");
        }

        lock (_gate)
        {
            var names = _live.Keys.Order(StringComparer.Ordinal).ToList();
            var page = new JsonArray();
            foreach (var name in names.Skip(skip).Take(ListPageSize))
            {
                page.Add(new JsonObject
                {
                    ["id"] = $"{Server.Url}/secrets/{name}",
                    ["attributes"] = Attributes(_live[name][^1]),
                });
            }

            var next = skip + ListPageSize;
            return Json(200, new JsonObject
            {
                ["value"] = page,
                ["nextLink"] = next < names.Count
                    ? $"{Server.Url}/secrets?api-version={apiVersion}&$skiptoken={next.ToString(CultureInfo.InvariantCulture)}" +
                        $"&maxresults={ListPageSize.ToString(CultureInfo.InvariantCulture)}"
                    : null,
            });
        }
    }

    private ResponseMessage DeleteSecret(IRequestMessage request, string name)
    {
        lock (_gate)
        {
            if (!_live.Remove(name, out var versions))
            {
                return Error(404, "SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault.");
            }

            _softDeleted[name] = versions;
            return Json(200, DeletedSecretBundle(name, versions[^1]));
        }
    }

    private ResponseMessage GetDeletedSecret(IRequestMessage request, string name)
    {
        lock (_gate)
        {
            return _softDeleted.TryGetValue(name, out var versions)
                ? Json(200, DeletedSecretBundle(name, versions[^1]))
                : Error(404, "SecretNotFound", $"Deleted Secret not found: {name}");
        }
    }

    private ResponseMessage PurgeDeletedSecret(IRequestMessage request, string name)
    {
        lock (_gate)
        {
            if (PurgeProtected)
            {
                return Error(403, "Forbidden",
                    $"Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will " +
                        $"automatically purge it after the retention period has passed.");
            }

            return _softDeleted.Remove(name)
                ? new ResponseMessage { StatusCode = 204 }
                : Error(404, "SecretNotFound", $"Deleted Secret not found: {name}");
        }
    }

    private ResponseMessage RecoverDeletedSecret(IRequestMessage request, string name)
    {
        lock (_gate)
        {
            if (!_softDeleted.Remove(name, out var versions))
            {
                return Error(404, "SecretNotFound", $"Deleted Secret not found: {name}");
            }

            _live[name] = versions;
            return Json(200, SecretBundle(name, versions[^1]));
        }
    }

    private JsonObject SecretBundle(string name, StoredVersion version) => new()
    {
        ["value"] = version.Value,
        ["id"] = $"{Server.Url}/secrets/{name}/{version.Id}",
        ["attributes"] = Attributes(version),
    };

    private JsonObject DeletedSecretBundle(string name, StoredVersion version)
    {
        var deletedAt = DateTimeOffset.UtcNow;
        return new JsonObject
        {
            ["id"] = $"{Server.Url}/secrets/{name}/{version.Id}",
            ["attributes"] = Attributes(version),
            ["recoveryId"] = $"{Server.Url}/deletedsecrets/{name}",
            ["deletedDate"] = deletedAt.ToUnixTimeSeconds(),
            ["scheduledPurgeDate"] = deletedAt.AddDays(90).ToUnixTimeSeconds(),
        };
    }

    private static JsonObject Attributes(StoredVersion version) => new()
    {
        ["enabled"] = version.Enabled,
        ["created"] = version.Created.ToUnixTimeSeconds(),
        ["updated"] = version.Created.ToUnixTimeSeconds(),
        ["recoveryLevel"] = "Recoverable+Purgeable",
        ["recoverableDays"] = 90,
    };

    private static ResponseMessage Challenge()
    {
        var response = Error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.");
        response.AddHeader("WWW-Authenticate",
            $"Bearer authorization=\"https://login.microsoftonline.com/{TenantId}\", resource=\"https://vault.azure.net\"");
        return response;
    }

    private static ResponseMessage Error(int status, string code, string message) =>
        Json(status, new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } });

    private static ResponseMessage Json(int status, JsonNode body) => new()
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMockList<string>>
        {
            ["Content-Type"] = new("application/json; charset=utf-8"),
        },
        BodyData = new BodyData
        {
            BodyAsString = body.ToJsonString(),
            DetectedBodyType = BodyType.String,
            Encoding = Encoding.UTF8,
        },
    };

    private static X509Certificate2 CreateSelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var subjectAlternativeNames = new SubjectAlternativeNameBuilder();
        subjectAlternativeNames.AddDnsName("localhost");
        subjectAlternativeNames.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(subjectAlternativeNames.Build());
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    private static string SecretNameOf(IRequestMessage request) => request.PathSegments[1];

    private static string NewVersionId() => Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);

    private sealed record StoredVersion(string Id, string Value, DateTimeOffset Created, bool Enabled = true);
}
