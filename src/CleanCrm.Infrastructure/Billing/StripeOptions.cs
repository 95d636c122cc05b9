using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Billing;

/// <summary>Stripe settings (section <c>CleanCrm:Stripe</c>). Without a secret key billing endpoints answer 503.</summary>
public sealed class StripeOptions
{
    public const string SectionName = "CleanCrm:Stripe";

    /// <summary>Secret API key (sk_live_… / sk_test_…), from the secret store or environment, never from a committed file.</summary>
    public string? SecretKey { get; set; }

    /// <summary>Signing secret of the webhook endpoint (whsec_…).</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>Overrides https://api.stripe.com (tests point it at a local stub).</summary>
    public Uri? ApiBase { get; set; }

    /// <summary>Price id per paid plan, e.g. <c>Prices:pro = price_…</c>; also used to map subscriptions back to plans.</summary>
    public Dictionary<string, string> Prices { get; set; } = new(StringComparer.Ordinal);

    [Required]
    public Uri SuccessUrl { get; set; } = new("http://localhost:5173/billing/success?session_id={CHECKOUT_SESSION_ID}");

    [Required]
    public Uri CancelUrl { get; set; } = new("http://localhost:5173/billing");

    [Required]
    public Uri PortalReturnUrl { get; set; } = new("http://localhost:5173/billing");

    /// <summary>Event name of the Stripe billing meter that receives AI token usage.</summary>
    [Required]
    [RegularExpression("^[a-z0-9_]{1,100}$")]
    public string AiTokensMeterEventName { get; set; } = "ai_tokens";

    /// <summary>Days a subscription may stay past due before the organization is suspended.</summary>
    [Range(0, 90)]
    public int PastDueGraceDays { get; set; } = 7;

    [Range(1, 30)]
    public int RequestTimeoutSeconds { get; set; } = 20;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(SecretKey);
}

internal sealed class StripeOptionsValidator : IValidateOptions<StripeOptions>
{
    public ValidateOptionsResult Validate(string? name, StripeOptions options)
    {
        if (!options.IsConfigured)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.WebhookSecret))
        {
            failures.Add($"{StripeOptions.SectionName}:WebhookSecret is required when SecretKey is set (the whsec_… secret of the " +
                $"webhook endpoint).");
        }

        foreach (var plan in options.Prices.Keys.Where(plan => plan is not (Domain.Catalog.Plan.Pro or Domain.Catalog.Plan.Enterprise)))
        {
            failures.Add($"{StripeOptions.SectionName}:Prices:{plan} names no paid plan (pro, enterprise).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
