using System.Net.Http.Headers;
using System.Text;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Billing;

/// <summary>
/// The API with Stripe pointed at a <see cref="StripeStub"/> and per-plan rate limits switched on; with <c>clock</c>, the
/// host's <see cref="TimeProvider"/> (a fake one lets a test move time instead of waiting for it).
/// </summary>
internal sealed class BillingHost : IDisposable
{
    public BillingHost(PlatformEnvironment platform, IDictionary<string, string?>? overrides = null, TimeProvider? clock = null)
    {
        Stripe = new StripeStub();
        var settings = new Dictionary<string, string?>
        {
            ["CleanCrm:Stripe:SecretKey"] = StripeStub.ApiKey,
            ["CleanCrm:Stripe:WebhookSecret"] = StripeStub.WebhookSecret,
            ["CleanCrm:Stripe:ApiBase"] = Stripe.Url,
            ["CleanCrm:Stripe:Prices:pro"] = StripeStub.ProPrice,
            ["CleanCrm:Stripe:Prices:enterprise"] = StripeStub.EnterprisePrice,
            ["CleanCrm:RateLimiting:Enabled"] = "true",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        Api = new ApiFactory(platform, settings, clock is null ? null : services => services.AddSingleton(clock));
    }

    public StripeStub Stripe { get; }

    public ApiFactory Api { get; }

    public HttpClient Admin(Guid userId)
    {
        var client = Api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={userId};admin");
        return client;
    }

    public Task<HttpResponseMessage> DeliverAsync(string payload, string? signature = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe")
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json")
        };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", signature ?? StripeStub.Sign(payload));
        return Api.CreateClient().SendAsync(request);
    }

    public void Dispose()
    {
        Api.Dispose();
        Stripe.Dispose();
    }
}
