namespace CleanCrm.Application.Webhooks;

/// <summary>A new signing secret: shown to the caller once, stored only as <see cref="Protected"/> ciphertext.</summary>
public sealed record WebhookSecret(string Secret, string Protected);

/// <summary>Makes Standard Webhooks signing secrets (<c>whsec_</c> + base64 of 32 random bytes) and protects them at rest.</summary>
public interface IWebhookSecrets
{
    WebhookSecret Create();
}

/// <summary>The SSRF rules for URLs the platform calls on a customer's behalf (docs/SECURITY.md).</summary>
public interface IOutboundTargets
{
    /// <summary>Why the platform may not call <paramref name="url"/> (a sentence naming it), or null when it may.</summary>
    Task<string?> RefusalAsync(Uri url, CancellationToken cancellationToken);
}

/// <summary>Queues webhook delivery attempts.</summary>
public interface IWebhookDeliveryQueue
{
    /// <summary>Queues one attempt now, outside the automatic retry schedule (manual redelivery).</summary>
    void Redeliver(Guid organizationId, Guid deliveryId);
}
