using System.Globalization;
using CleanCrm.Application.Billing;
using Microsoft.Extensions.Options;
using Stripe;

namespace CleanCrm.Infrastructure.Billing;

/// <summary>Stripe.net behind <see cref="IPaymentProvider"/>; one client per process, pointed at <c>ApiBase</c> when set.</summary>
public sealed class StripePaymentProvider(IOptions<StripeOptions> options, IHttpClientFactory httpClients) : IPaymentProvider
{
    public const string HttpClientName = "stripe";
    public const string OrganizationIdKey = "organization_id";
    public const string PlanKey = "plan";

    private readonly Lazy<IStripeClient> _client = new(() => CreateClient(options.Value, httpClients));

    public bool IsConfigured => options.Value.IsConfigured;

    public IStripeClient Client => _client.Value;

    public bool Sells(string planKey) => options.Value.Prices.TryGetValue(planKey, out var price) && !string.IsNullOrWhiteSpace(price);

    /// <summary>The plan a Stripe price id pays for, or null for an unknown price.</summary>
    public string? PlanForPrice(string? priceId) =>
        priceId is null ? null : options.Value.Prices.FirstOrDefault(p => string.Equals(p.Value, priceId, StringComparison.Ordinal)).Key;

    public async Task<string> CreateCustomerAsync(Guid organizationId, string organizationName, string? ownerEmail,
        CancellationToken cancellationToken)
    {
        var customer = await Guarded(() => new CustomerService(Client).CreateAsync(
            new CustomerCreateOptions
            {
                Name = organizationName,
                Email = ownerEmail,
                Metadata = new Dictionary<string, string> { [OrganizationIdKey] = organizationId.ToString() },
            },
            new RequestOptions { IdempotencyKey = $"cleancrm-customer-{organizationId:N}" },
            cancellationToken), cancellationToken);
        return customer.Id;
    }

    public async Task<string> CreateCheckoutSessionAsync(CheckoutRequest request, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var metadata =
            new Dictionary<string, string> { [OrganizationIdKey] = request.OrganizationId.ToString(), [PlanKey] = request.PlanKey };
        var session = await Guarded(() => new Stripe.Checkout.SessionService(Client).CreateAsync(
            new Stripe.Checkout.SessionCreateOptions
            {
                Mode = "subscription",
                Customer = request.CustomerId,
                ClientReferenceId = request.OrganizationId.ToString(),
                Metadata = metadata,
                SubscriptionData = new Stripe.Checkout.SessionSubscriptionDataOptions { Metadata = metadata },
                LineItems =
                    [new Stripe.Checkout.SessionLineItemOptions { Price = settings.Prices[request.PlanKey], Quantity = request.Quantity }],
                SuccessUrl = settings.SuccessUrl.OriginalString,
                CancelUrl = settings.CancelUrl.OriginalString,
            },
            cancellationToken: cancellationToken), cancellationToken);
        return session.Url;
    }

    public async Task<string> CreatePortalSessionAsync(string customerId, CancellationToken cancellationToken)
    {
        var session = await Guarded(() => new Stripe.BillingPortal.SessionService(Client).CreateAsync(
            new Stripe.BillingPortal.SessionCreateOptions
            {
                Customer = customerId,
                ReturnUrl = options.Value.PortalReturnUrl.OriginalString
            },
            cancellationToken: cancellationToken), cancellationToken);
        return session.Url;
    }

    public async Task<IReadOnlyList<InvoiceDto>> ListInvoicesAsync(string customerId, CancellationToken cancellationToken)
    {
        var invoices = await Guarded(
            () => new InvoiceService(Client)
                .ListAsync(new InvoiceListOptions { Customer = customerId, Limit = 24 }, cancellationToken: cancellationToken),
            cancellationToken);
        return [.. invoices.Data.Select(i => new InvoiceDto(
            i.Id,
            i.Number,
            i.Status,
            i.AmountDue,
            i.AmountPaid,
            i.Currency,
            new DateTimeOffset(DateTime.SpecifyKind(i.Created, DateTimeKind.Utc)),
            i.HostedInvoiceUrl,
            i.InvoicePdf))];
    }

    public Task<Subscription> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken) =>
        new SubscriptionService(Client).GetAsync(subscriptionId, cancellationToken: cancellationToken);

    /// <summary>Reports a closed period's usage once: the rollup id is both the meter event identifier and the idempotency key.</summary>
    public Task ReportUsageAsync(Guid rollupId, string customerId, long quantity, DateTimeOffset at, CancellationToken cancellationToken) =>
        new Stripe.Billing.MeterEventService(Client).CreateAsync(
            new Stripe.Billing.MeterEventCreateOptions
            {
                EventName = options.Value.AiTokensMeterEventName,
                Identifier = rollupId.ToString(),
                Timestamp = at.UtcDateTime,
                Payload = new Dictionary<string, string>
                {
                    ["stripe_customer_id"] = customerId,
                    ["value"] = quantity.ToString(CultureInfo.InvariantCulture),
                },
            },
            new RequestOptions { IdempotencyKey = $"cleancrm-meter-{rollupId:N}" },
            cancellationToken);

    /// <summary>
    /// Stripe answering 5xx or 429 (after Stripe.net's own retries), a network error or the request timeout
    /// (<c>RequestTimeoutSeconds</c>) becomes <see cref="PaymentProviderUnavailableException"/>: a 503 for the caller, not a
    /// 500 (docs/reliability.md, scenario 5d). Stripe's 4xx answers (a wrong price id, for example) stay what they are.
    /// </summary>
    private static async Task<T> Guarded<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (StripeException exception) when ((int)exception.HttpStatusCode >= 500 || (int)exception.HttpStatusCode == 429
                                                || exception.InnerException is HttpRequestException or TaskCanceledException)
        {
            throw new PaymentProviderUnavailableException(exception);
        }
        catch (HttpRequestException exception)
        {
            throw new PaymentProviderUnavailableException(exception);
        }
        catch (TaskCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PaymentProviderUnavailableException(exception);
        }
    }

    private static IStripeClient CreateClient(StripeOptions settings, IHttpClientFactory httpClients) =>
        new StripeClient(new StripeClientOptions
        {
            ApiKey = settings.SecretKey,
            ApiBase = settings.ApiBase?.ToString().TrimEnd('/'),
            HttpClient = new SystemNetHttpClient(httpClients.CreateClient(HttpClientName), maxNetworkRetries: 2),
        });
}
