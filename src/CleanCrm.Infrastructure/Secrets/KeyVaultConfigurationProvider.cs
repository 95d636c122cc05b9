using Azure;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CleanCrm.Infrastructure.Secrets;

/// <summary>
/// Configuration values kept as Key Vault secrets: every enabled secret named <c>&lt;NamePrefix&gt;config--…</c>
/// becomes a configuration key, with <c>--</c> standing for the <c>:</c> that secret names cannot contain
/// (<c>cleancrm-config--Stripe--ApiKey</c> → <c>Stripe:ApiKey</c>). Other secrets of the vault, such as tenant
/// database passwords, are ignored. Values are never logged; names and counts are.
/// </summary>
public sealed partial class KeyVaultConfigurationProvider : ConfigurationProvider, IDisposable
{
    /// <summary>Follows the name prefix in the name of every secret that holds a configuration value.</summary>
    public const string ConfigurationMarker = "config--";

    private const string NameDelimiter = "--";
    private const int NotFound = 404;

    private readonly SecretClient _client;
    private readonly string _secretNamePrefix;
    private readonly TimeSpan? _reloadInterval;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _loading = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private PeriodicTimer? _reloadTimer;
    private bool _disposed;

    public KeyVaultConfigurationProvider(
        SecretClient client,
        string? namePrefix,
        TimeSpan? reloadInterval = null,
        ILogger? logger = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (reloadInterval is { } interval)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, nameof(reloadInterval));
        }

        _client = client;
        _secretNamePrefix = (namePrefix ?? string.Empty) + ConfigurationMarker;
        _reloadInterval = reloadInterval;
        _logger = logger ?? NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// Lists the vault's secrets and reads the current value of every configuration secret. The contract of
    /// <see cref="IConfigurationProvider.Load"/> is synchronous, so this uses the SDK's synchronous methods
    /// (<see cref="SecretClient.GetPropertiesOfSecrets"/>, <see cref="SecretClient.GetSecret(string, string, CancellationToken)"/>),
    /// which send with <c>HttpClient.Send</c>: no task is blocked on. It runs once at start-up when the source is
    /// added (and again only if someone calls <see cref="IConfigurationRoot.Reload"/>); periodic reloads run in the
    /// background with the asynchronous methods. Any failure throws: starting with an empty configuration would
    /// only move the failure to the first payment or sign-in.
    /// </summary>
    public override void Load()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _loading.Wait();
        try
        {
            var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            try
            {
                foreach (var properties in _client.GetPropertiesOfSecrets(_stopping.Token))
                {
                    if (ToConfigurationKey(properties) is { } key)
                    {
                        try
                        {
                            data[key] = _client.GetSecret(properties.Name, cancellationToken: _stopping.Token).Value.Value;
                        }
                        catch (RequestFailedException exception) when (exception.Status == NotFound)
                        {
                            LogVanished(_logger, properties.Name);
                        }
                    }
                }
            }
            catch (Exception exception) when (exception is RequestFailedException or AuthenticationFailedException)
            {
                throw new InvalidOperationException(
                    $"Could not load configuration secrets ({_secretNamePrefix}*) from Key Vault {_client.VaultUri}; see the inner " +
                        $"exception.",
                    exception);
            }

            Data = data;
            LogLoaded(_logger, data.Count, _client.VaultUri);
        }
        finally
        {
            _loading.Release();
        }

        StartReloadingOnce();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping.Cancel();
        _reloadTimer?.Dispose();
        _stopping.Dispose();
    }

    public override string ToString() => $"{nameof(KeyVaultConfigurationProvider)} for {_client.VaultUri} ({_secretNamePrefix}*)";

    /// <summary>Maps a secret to its configuration key, or null when it is no enabled configuration secret.</summary>
    private string? ToConfigurationKey(SecretProperties properties)
    {
        if (properties.Enabled != true ||
            !properties.Name.StartsWith(_secretNamePrefix, StringComparison.OrdinalIgnoreCase) ||
            properties.Name.Length == _secretNamePrefix.Length)
        {
            return null;
        }

        return properties.Name[_secretNamePrefix.Length..].Replace(NameDelimiter, ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
    }

    private void StartReloadingOnce()
    {
        if (_reloadInterval is not { } interval || _reloadTimer is not null)
        {
            return;
        }

        _reloadTimer = new PeriodicTimer(interval, _timeProvider);
        _ = ReloadPeriodicallyAsync(_reloadTimer, _stopping.Token);
    }

    private async Task ReloadPeriodicallyAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await ReloadAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    /// <summary>
    /// Reads every configuration secret again (a new version keeps the secret's name, and the list's
    /// <c>updated</c> stamp only has one-second resolution, so nothing short of reading the values is reliable)
    /// and signals a reload only when a value was added, changed or removed. A failure keeps the values in effect.
    /// </summary>
    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        await _loading.WaitAsync(cancellationToken);
        try
        {
            var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            await foreach (var properties in _client.GetPropertiesOfSecretsAsync(cancellationToken))
            {
                if (ToConfigurationKey(properties) is { } key)
                {
                    try
                    {
                        data[key] = (await _client.GetSecretAsync(properties.Name, cancellationToken: cancellationToken)).Value.Value;
                    }
                    catch (RequestFailedException exception) when (exception.Status == NotFound)
                    {
                        LogVanished(_logger, properties.Name);
                    }
                }
            }

            if (SameValues(Data, data))
            {
                LogUnchanged(_logger, _client.VaultUri);
                return;
            }

            Data = data;
            LogReloaded(_logger, data.Count, _client.VaultUri);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Whatever went wrong, the timer keeps running: the next tick may well succeed.
            LogReloadFailed(_logger, exception, _client.VaultUri);
            return;
        }
        finally
        {
            _loading.Release();
        }

        OnReload();
    }

    private static bool SameValues(IDictionary<string, string?> current, Dictionary<string, string?> loaded) =>
        current.Count == loaded.Count &&
        loaded.All(entry => current.TryGetValue(entry.Key, out var value) && string.Equals(value, entry.Value, StringComparison.Ordinal));

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Count} configuration values from Key Vault {VaultUri}")]
    private static partial void LogLoaded(ILogger logger, int count, Uri vaultUri);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Configuration values from Key Vault {VaultUri} changed; {Count} values reloaded")]
    private static partial void LogReloaded(ILogger logger, int count, Uri vaultUri);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Configuration values from Key Vault {VaultUri} are unchanged")]
    private static partial void LogUnchanged(ILogger logger, Uri vaultUri);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Reloading configuration values from Key Vault {VaultUri} failed; the values loaded before stay in effect")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception, Uri vaultUri);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Key Vault secret {SecretName} was listed but deleted before it could be read; skipped")]
    private static partial void LogVanished(ILogger logger, string secretName);
}
