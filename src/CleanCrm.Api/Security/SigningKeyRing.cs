using CleanCrm.Infrastructure.Identity;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using OpenIddict.Validation;

namespace CleanCrm.Api.Security;

/// <summary>
/// The token-signing keys of this instance: the configured key (<c>CleanCrm:Identity:SigningKey</c>) and the rotated keys
/// of the catalog (<see cref="SigningKeyStore"/>), arranged signer first, then keys not yet active (published ahead, so
/// every instance and client knows them before they sign), then previous keys (still trusted until retired). OpenIddict's
/// server and validation options are rebuilt from it whenever the arrangement changes (docs/OPERATIONS.md, "Rotating the
/// token-signing key"). Key objects are kept per <c>kid</c>, so a rebuild keeps the validated-token cache's bindings.
/// </summary>
public sealed class SigningKeyRing
{
    private readonly RsaSecurityKey _configured;
    private readonly Dictionary<string, RsaSecurityKey> _rotated = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private IReadOnlyList<SecurityKey> _keys;
    private CancellationTokenSource _serverChanged = new();
    private CancellationTokenSource _validationChanged = new();

    public SigningKeyRing(RsaSecurityKey configured)
    {
        _configured = configured;
        _keys = [configured];
    }

    /// <summary>The keys published and trusted now; the first signs new tokens.</summary>
    public IReadOnlyList<SecurityKey> Keys => Volatile.Read(ref _keys);

    /// <summary>
    /// Fires when the arrangement changed: the server options' token first, then the validation options' (which copy the
    /// server's keys), so validation is never rebuilt from server options that are about to be replaced.
    /// </summary>
    public IChangeToken GetChangeToken(bool validation) =>
        new CancellationChangeToken(Volatile.Read(ref validation ? ref _validationChanged : ref _serverChanged).Token);

    /// <summary>Arranges the keys for <paramref name="now"/>; true when the arrangement changed (the options are then rebuilt).</summary>
    public bool Apply(IReadOnlyList<StoredSigningKey> stored, DateTimeOffset now)
    {
        CancellationTokenSource server, validation;
        lock (_gate)
        {
            var retired = stored.Where(k => k.RetiredAt is not null).Select(k => k.Id).ToHashSet(StringComparer.Ordinal);
            var candidates = new List<(SecurityKey Key, DateTimeOffset ActivatesAt)>();
            if (!retired.Contains(_configured.KeyId))
            {
                candidates.Add((_configured, DateTimeOffset.MinValue));
            }

            foreach (var key in stored.Where(k => k.RetiredAt is null && k.PrivateKeyPem is not null))
            {
                if (!_rotated.TryGetValue(key.Id, out var rsaKey))
                {
                    var rsa = System.Security.Cryptography.RSA.Create();
                    rsa.ImportFromPem(key.PrivateKeyPem);
                    _rotated[key.Id] = rsaKey = new RsaSecurityKey(rsa) { KeyId = key.Id };
                }

                candidates.Add((rsaKey, key.ActivatesAt));
            }

            // The signer is the key activated last by now; without one (nothing left), the arrangement stays as it was.
            var active = candidates.Where(c => c.ActivatesAt <= now).OrderBy(c => c.ActivatesAt).Select(c => c.Key).LastOrDefault();
            if (active is null)
            {
                return false;
            }

            IReadOnlyList<SecurityKey> keys =
            [
                active,
                .. candidates.Where(c => c.ActivatesAt > now).OrderBy(c => c.ActivatesAt).Select(c => c.Key),
                .. candidates.Where(c => c.ActivatesAt <= now && !ReferenceEquals(c.Key, active))
                    .OrderByDescending(c => c.ActivatesAt).Select(c => c.Key),
            ];
            if (keys.SequenceEqual(_keys))
            {
                return false;
            }

            Volatile.Write(ref _keys, keys);
            server = Interlocked.Exchange(ref _serverChanged, new CancellationTokenSource());
            validation = Interlocked.Exchange(ref _validationChanged, new CancellationTokenSource());
        }

        server.Cancel();
        validation.Cancel();
        server.Dispose();
        validation.Dispose();
        return true;
    }
}

/// <summary>
/// Puts the ring's keys into OpenIddict's server options (signing, JWKS); validation trusts the server's keys through the
/// local-server integration, rebuilt after the server's options (<see cref="SigningKeyRing.GetChangeToken"/>).
/// </summary>
internal sealed class SigningKeyRingOptions(SigningKeyRing ring) : IConfigureOptions<OpenIddictServerOptions>
{
    public void Configure(OpenIddictServerOptions options)
    {
        options.SigningCredentials.Clear();
        foreach (var key in ring.Keys)
        {
            options.SigningCredentials.Add(new SigningCredentials(key, SecurityAlgorithms.RsaSha256));
        }
    }
}

internal sealed class SigningKeyRingChangeTokens<TOptions>(SigningKeyRing ring) : IOptionsChangeTokenSource<TOptions>
{
    public string Name => Options.DefaultName;

    public IChangeToken GetChangeToken() => ring.GetChangeToken(validation: typeof(TOptions) == typeof(OpenIddictValidationOptions));
}

/// <summary>Reloads the rotated keys from the catalog at start and every <c>CleanCrm:Identity:SigningKeyRefreshSeconds</c>.</summary>
public sealed partial class SigningKeyRefresher(
    SigningKeyRing ring,
    SigningKeyStore store,
    IOptions<IdentityOptions> options,
    TimeProvider clock,
    ILogger<SigningKeyRefresher> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Loaded before the host serves requests, so a restarted instance signs with the current key at once.
        await RefreshAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.SigningKeyRefreshSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            await RefreshAsync(stoppingToken);
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (ring.Apply(await store.LoadAsync(cancellationToken), clock.GetUtcNow()))
            {
                LogKeysChanged(logger, string.Join(", ", ring.Keys.Select(k => k.KeyId)));
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // An unreachable catalog keeps the keys this instance has; the next refresh tries again.
            LogRefreshFailed(logger, exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Token-signing keys now {KeyIds} (the first signs)")]
    private static partial void LogKeysChanged(ILogger logger, string keyIds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Loading the token-signing keys from the catalog failed; keeping the current ones")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
