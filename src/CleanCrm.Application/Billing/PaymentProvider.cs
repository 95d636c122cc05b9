namespace CleanCrm.Application.Billing;

public sealed record CheckoutRequest(Guid OrganizationId, string CustomerId, string PlanKey, int Quantity);

public sealed record InvoiceDto(
    string Id,
    string? Number,
    string? Status,
    long AmountDue,
    long AmountPaid,
    string Currency,
    DateTimeOffset CreatedAt,
    string? HostedInvoiceUrl,
    string? InvoicePdf);

/// <summary>The payment provider (Stripe) as the use cases need it; implemented in Infrastructure with Stripe.net.</summary>
public interface IPaymentProvider
{
    /// <summary>False when no API key is configured: billing endpoints answer 503 <c>billing_not_configured</c>.</summary>
    bool IsConfigured { get; }

    /// <summary>True when a price is configured for the plan.</summary>
    bool Sells(string planKey);

    /// <summary>
    /// Creates the organization's customer; repeating the call returns the same customer (deterministic idempotency key).
    /// </summary>
    Task<string> CreateCustomerAsync(Guid organizationId, string organizationName, string? ownerEmail, CancellationToken cancellationToken);

    /// <summary>A Checkout Session in subscription mode; returns its URL.</summary>
    Task<string> CreateCheckoutSessionAsync(CheckoutRequest request, CancellationToken cancellationToken);

    /// <summary>A customer-portal session; returns its URL.</summary>
    Task<string> CreatePortalSessionAsync(string customerId, CancellationToken cancellationToken);

    Task<IReadOnlyList<InvoiceDto>> ListInvoicesAsync(string customerId, CancellationToken cancellationToken);
}

/// <summary>
/// The payment provider did not answer usefully (5xx, 429, a network error or a timeout): nothing was changed there on
/// the caller's behalf that a retry would not find again (calls that create carry idempotency keys); the API answers 503
/// <c>billing_unavailable</c> with Retry-After (docs/BILLING.md).
/// </summary>
public sealed class PaymentProviderUnavailableException(Exception inner)
    : Exception("The payment provider could not be reached or failed; retry later.", inner);
