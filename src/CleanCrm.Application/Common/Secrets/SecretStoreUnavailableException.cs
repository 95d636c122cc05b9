namespace CleanCrm.Application.Common.Secrets;

/// <summary>
/// The secret store could not be reached, failed (5xx, 429) or did not answer in time, after its own retries. Nothing was
/// read or written on the caller's behalf that a retry would not find again (set and delete are idempotent). The API answers
/// 503 <c>secret_store_unavailable</c> with Retry-After; provisioning waits for the store (docs/MULTI_TENANCY.md, "Secret
/// store"; docs/reliability.md, scenario 5b).
/// </summary>
public sealed class SecretStoreUnavailableException(string operation, Exception inner)
    : Exception($"The secret store could not be reached or failed during {operation}; retry later.", inner)
{
    /// <summary>The problem code of the API's 503 answer.</summary>
    public const string Code = "secret_store_unavailable";

    public string Operation { get; } = operation;
}
