namespace CleanCrm.Domain.Catalog;

/// <summary>The providers an organization can connect (names as they appear in URLs and payloads).</summary>
public static class IntegrationProviders
{
    public const string Google = "google";
    public const string Slack = "slack";
    public const string Fathom = "fathom";
    public const string SavvyCal = "savvycal";

    public static readonly IReadOnlyList<string> All = [Google, Slack, Fathom, SavvyCal];

    /// <summary>The premium feature a provider needs, or null when every plan has it (Fathom).</summary>
    public static string? RequiredFeature(string provider) => provider switch
    {
        Google or SavvyCal => PremiumFeatures.CalendarSync,
        Slack => PremiumFeatures.SlackIntegration,
        _ => null,
    };
}

/// <summary>States of a connection; <see cref="NotConnected"/> is shown for a provider without a row.</summary>
public static class IntegrationStatuses
{
    public const string NotConnected = "not_connected";
    public const string Connected = "connected";
    public const string NeedsReauth = "needs_reauth";
    public const string Revoked = "revoked";
    public const string Error = "error";
}

/// <summary>
/// One organization's connection to one provider. Kept in the catalog because webhooks arrive without an organization and
/// are routed by this row's id (or the provider's account id). Tokens are never here: they live in the secret store.
/// </summary>
public sealed class IntegrationConnection
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid OrganizationId { get; set; }

    public required string Provider { get; set; }

    public required string Status { get; set; }

    /// <summary>The user who authorized the connection; told by email when it needs authorizing again.</summary>
    public Guid? ConnectedBy { get; set; }

    public DateTimeOffset ConnectedAt { get; set; }

    /// <summary>Space-separated scopes the provider granted.</summary>
    public string? Scopes { get; set; }

    /// <summary>The provider's id of the connected account (Slack team id), to route events that name no connection.</summary>
    public string? ExternalAccountId { get; set; }

    /// <summary>When the access token expires (null: it does not); the refresh job renews it before then.</summary>
    public DateTimeOffset? AccessTokenExpiresAt { get; set; }

    public DateTimeOffset? LastSyncAt { get; set; }

    public string? LastError { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// A pending OAuth authorization (the <c>state</c> parameter): bound to an organization, a user and a provider, usable once
/// and for a few minutes. Only the SHA-256 of the state is stored; the PKCE verifier is Data Protection ciphertext.
/// </summary>
public sealed class IntegrationAuthorization
{
    public required string StateHash { get; set; }

    public Guid OrganizationId { get; set; }

    public Guid UserId { get; set; }

    public required string Provider { get; set; }

    public string? ProtectedCodeVerifier { get; set; }

    public required string RedirectUri { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? ConsumedAt { get; set; }
}

/// <summary>
/// The inbox of provider webhooks: one row per provider event id, written after the signature was verified and before
/// anything is acted on, processed by a job. The payload is Data Protection ciphertext and is cleared once processed.
/// </summary>
public sealed class IntegrationWebhookDelivery
{
    public required string Provider { get; set; }

    public required string EventId { get; set; }

    public Guid? ConnectionId { get; set; }

    public Guid? OrganizationId { get; set; }

    public required string Type { get; set; }

    public string? ProtectedPayload { get; set; }

    public DateTimeOffset ReceivedAt { get; set; }

    public DateTimeOffset? ProcessedAt { get; set; }

    public int Attempts { get; set; }

    public string? LastError { get; set; }
}
