using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using CleanCrm.Application.Common.Secrets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CleanCrm.Infrastructure.Secrets;

/// <summary>
/// <see cref="ISecretStore"/> over Azure Key Vault. Key Vault soft-deletes secrets, so a deleted name stays
/// reserved until it is purged or its retention ends; this store recovers such names on write and can purge
/// on delete. A vault that cannot be reached, fails (5xx, 429) or does not answer within
/// <see cref="KeyVaultOptions.RequestTimeoutSeconds"/> (after <see cref="KeyVaultOptions.MaxRetries"/> retries) surfaces as
/// <see cref="SecretStoreUnavailableException"/> (docs/MULTI_TENANCY.md, "Secret store"). Secret values are never logged.
/// </summary>
public sealed partial class KeyVaultSecretStore : ISecretStore
{
    private const int NotFound = 404;
    private const int Forbidden = 403;
    private const int Conflict = 409;

    private readonly SecretClient _client;
    private readonly string _namePrefix;
    private readonly bool _purgeOnDelete;
    private readonly ILogger<KeyVaultSecretStore> _logger;

    public KeyVaultSecretStore(SecretClient client, KeyVaultOptions options, ILogger<KeyVaultSecretStore> logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);

        _client = client;
        _namePrefix = options.NamePrefix ?? string.Empty;
        _purgeOnDelete = options.PurgeOnDelete;
        _logger = logger;
    }

    /// <summary>
    /// Builds the store and its <see cref="SecretClient"/>. Production passes a <c>DefaultAzureCredential</c>;
    /// tests pass their own credential and a transport in <paramref name="clientOptions"/>.
    /// </summary>
    public static KeyVaultSecretStore Create(
        KeyVaultOptions options,
        TokenCredential credential,
        SecretClientOptions? clientOptions = null,
        ILogger<KeyVaultSecretStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(credential);
        var vaultUri = options.VaultUri ?? throw new ArgumentException(KeyVaultOptions.VaultUriRequiredMessage, nameof(options));

        var client = new SecretClient(vaultUri, credential, clientOptions ?? ClientOptionsFor(options));
        return new KeyVaultSecretStore(client, options, logger ?? NullLogger<KeyVaultSecretStore>.Instance);
    }

    /// <summary>
    /// The client's retry policy from the settings: each attempt gives up after <see cref="KeyVaultOptions.RequestTimeoutSeconds"/>
    /// (the SDK's default, 100 s, would hold an API request for minutes on a silent vault), at most
    /// <see cref="KeyVaultOptions.MaxRetries"/> retries, 0.5 s apart and doubling.
    /// </summary>
    public static SecretClientOptions ClientOptionsFor(KeyVaultOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clientOptions = new SecretClientOptions();
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(500);
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(4);
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(options.RequestTimeoutSeconds);
        return clientOptions;
    }

    public async Task<string?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var vaultName = ToVaultName(name);
        try
        {
            Response<KeyVaultSecret> response = await _client.GetSecretAsync(vaultName, cancellationToken: cancellationToken);
            return response.Value.Value;
        }
        catch (RequestFailedException exception) when (exception.Status == NotFound)
        {
            // Key Vault also answers 404 for a secret that is deleted but not yet purged.
            return null;
        }
        catch (Exception exception) when (IsUnavailable(exception, cancellationToken))
        {
            throw Unavailable("get", vaultName, exception);
        }
    }

    public async Task SetAsync(string name, string value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        var vaultName = ToVaultName(name);
        try
        {
            await SetCoreAsync(vaultName, value, cancellationToken);
        }
        catch (Exception exception) when (IsUnavailable(exception, cancellationToken))
        {
            throw Unavailable("set", vaultName, exception);
        }
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        var vaultName = ToVaultName(name);
        try
        {
            await DeleteCoreAsync(vaultName, cancellationToken);
        }
        catch (Exception exception) when (IsUnavailable(exception, cancellationToken))
        {
            throw Unavailable("delete", vaultName, exception);
        }
    }

    /// <summary>
    /// True for what a retry later can cure: no connection or no answer in time (the SDK's network timeout is an
    /// <see cref="OperationCanceledException"/> the caller did not ask for), 408, 429 and 5xx answers, a token the credential
    /// could not get, and the SDK's "retry failed after N tries" made only of such failures.
    /// </summary>
    public static bool IsUnavailable(Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            OperationCanceledException => !cancellationToken.IsCancellationRequested,
            RequestFailedException failed => failed.Status is 0 or 408 or 429 or >= 500,
            AggregateException aggregate => aggregate.InnerExceptions.Count > 0
                                            && aggregate.InnerExceptions.All(inner => IsUnavailable(inner, cancellationToken)),
            HttpRequestException or IOException or TimeoutException or AuthenticationFailedException => true,
            _ => false,
        };
    }

    private SecretStoreUnavailableException Unavailable(string operation, string vaultName, Exception exception)
    {
        LogUnavailable(_logger, operation, vaultName, exception.GetType().Name, (exception as RequestFailedException)?.Status ?? 0);
        return new SecretStoreUnavailableException(operation, exception);
    }

    private async Task SetCoreAsync(string vaultName, string value, CancellationToken cancellationToken)
    {
        try
        {
            await _client.SetSecretAsync(vaultName, value, cancellationToken);
        }
        catch (RequestFailedException exception) when (exception.Status == Conflict)
        {
            // A soft-deleted secret keeps its name reserved: bring it back, then write the new version over it.
            if (!await TryRecoverDeletedAsync(vaultName, cancellationToken))
            {
                throw;
            }

            await _client.SetSecretAsync(vaultName, value, cancellationToken);
        }
    }

    private async Task DeleteCoreAsync(string vaultName, CancellationToken cancellationToken)
    {
        try
        {
            DeleteSecretOperation operation = await _client.StartDeleteSecretAsync(vaultName, cancellationToken);
            if (_purgeOnDelete)
            {
                // Purging is refused until the deletion has completed.
                await operation.WaitForCompletionAsync(cancellationToken);
            }
        }
        catch (RequestFailedException exception) when (exception.Status == NotFound)
        {
            // Already gone. With purging on, a retry after a failed purge still has a deleted secret to purge.
        }

        if (_purgeOnDelete)
        {
            await PurgeAsync(vaultName, cancellationToken);
        }
    }

    private async Task<bool> TryRecoverDeletedAsync(string vaultName, CancellationToken cancellationToken)
    {
        try
        {
            RecoverDeletedSecretOperation operation = await _client.StartRecoverDeletedSecretAsync(vaultName, cancellationToken);
            await operation.WaitForCompletionAsync(cancellationToken);
            LogRecovered(_logger, vaultName);
            return true;
        }
        catch (RequestFailedException exception) when (exception.Status == NotFound)
        {
            return false;
        }
    }

    private async Task PurgeAsync(string vaultName, CancellationToken cancellationToken)
    {
        try
        {
            await _client.PurgeDeletedSecretAsync(vaultName, cancellationToken);
        }
        catch (RequestFailedException exception) when (exception.Status == NotFound)
        {
            // Nothing left to purge.
        }
        catch (RequestFailedException exception) when (exception.Status == Forbidden)
        {
            // Purge-protected vaults refuse purges; the secret stays recoverable until its retention ends.
            LogPurgeRefused(_logger, vaultName, exception.ErrorCode);
        }
    }

    private string ToVaultName(string name) => SecretName.Ensure(_namePrefix + SecretName.Ensure(name));

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Recovered soft-deleted Key Vault secret {SecretName} before writing a new version")]
    private static partial void LogRecovered(ILogger logger, string secretName);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Key Vault unavailable: {Operation} of secret {SecretName} failed ({ExceptionType}, status {Status}) after retries")]
    private static partial void LogUnavailable(ILogger logger, string operation, string secretName, string exceptionType, int status);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Key Vault refused to purge secret {SecretName} ({ErrorCode}); it is kept until the vault's retention period ends")]
    private static partial void LogPurgeRefused(ILogger logger, string secretName, string? errorCode);
}
