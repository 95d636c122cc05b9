namespace CleanCrm.Application.Billing;

/// <summary>Where to send the browser: a Stripe Checkout or billing-portal page.</summary>
public sealed record CheckoutSessionDto(string Url);
