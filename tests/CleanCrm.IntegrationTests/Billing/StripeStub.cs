using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using WireMock;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Util;

namespace CleanCrm.IntegrationTests.Billing;

/// <summary>
/// A WireMock server answering the Stripe API calls CleanCrm makes with Stripe's JSON shapes (customers, checkout and
/// portal sessions, subscriptions, invoices, billing meter events), plus Stripe's way of signing webhook deliveries.
/// Subscriptions are held in memory so a test can move one through its lifecycle and send the matching events.
/// </summary>
internal sealed class StripeStub : IDisposable
{
    public const string ApiKey = "stub-stripe-api-key";
    public const string WebhookSecret = "stub-webhook-signing-secret";
    public const string ProPrice = "price_stub_pro";
    public const string EnterprisePrice = "price_stub_enterprise";
    public const string ApiVersion = "2026-10-28.endive";

    private readonly ConcurrentDictionary<string, JsonObject> _subscriptions = new();
    private readonly ConcurrentDictionary<string, string> _customersByIdempotencyKey = new();
    private readonly ConcurrentQueue<(string Method, string Path, Dictionary<string, string> Form, string? IdempotencyKey)> _calls = new();
    private int _sequence;

    public StripeStub()
    {
        Server = WireMockServer.Start();
        Route("POST", "^/v1/customers$", CreateCustomer);
        Route("POST", "^/v1/checkout/sessions$", CreateCheckoutSession);
        Route("POST", "^/v1/billing_portal/sessions$", CreatePortalSession);
        Route("GET", "^/v1/subscriptions/[A-Za-z0-9_]+$", GetSubscription);
        Route("GET", "^/v1/invoices$", ListInvoices);
        Route("POST", "^/v1/billing/meter_events$", CreateMeterEvent);
        Server.Given(Request.Create().UsingAnyMethod()).AtPriority(1000)
            .RespondWith(Response.Create()
                .WithCallback(request => Error(404, "resource_missing", $"Unrecognized request URL ({request.Method}: {request.Path}).")));
    }

    public WireMockServer Server { get; }

    public string Url => Server.Url!;

    public IReadOnlyList<(string Method, string Path, Dictionary<string, string> Form, string? IdempotencyKey)> Calls => [.. _calls];

    public IEnumerable<Dictionary<string, string>> FormsPostedTo(string path) => Calls.Where(c => c.Method == "POST" && c.Path == path)
        .Select(c => c.Form);

    /// <summary>Sets the state Stripe reports for a subscription (what a re-fetch returns).</summary>
    public JsonObject PutSubscription(string id, string customer, Guid organizationId, string status, string price, int quantity = 1,
        long? trialEnd = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var subscription = new JsonObject
        {
            ["id"] = id,
            ["object"] = "subscription",
            ["billing_cycle_anchor"] = now,
            ["cancel_at_period_end"] = false,
            ["collection_method"] = "charge_automatically",
            ["created"] = now,
            ["currency"] = "usd",
            ["customer"] = customer,
            ["livemode"] = false,
            ["metadata"] =
                new JsonObject { ["organization_id"] = organizationId.ToString(), ["plan"] = price == ProPrice ? "pro" : "enterprise" },
            ["start_date"] = now,
            ["status"] = status,
            ["trial_end"] = trialEnd,
            ["items"] = new JsonObject
            {
                ["object"] = "list",
                ["has_more"] = false,
                ["url"] = $"/v1/subscription_items?subscription={id}",
                ["data"] = new JsonArray(new JsonObject
                {
                    ["id"] = $"si_{id}",
                    ["object"] = "subscription_item",
                    ["created"] = now,
                    ["current_period_start"] = now,
                    ["current_period_end"] = now + (30 * 86400),
                    ["quantity"] = quantity,
                    ["subscription"] = id,
                    ["price"] = new JsonObject
                    {
                        ["id"] = price,
                        ["object"] = "price",
                        ["active"] = true,
                        ["currency"] = "usd",
                        ["product"] = "prod_stub",
                        ["type"] = "recurring",
                        ["unit_amount"] = price == ProPrice ? 2900 : 9900,
                        ["recurring"] = new JsonObject { ["interval"] = "month", ["interval_count"] = 1, ["usage_type"] = "licensed" },
                    },
                }),
            },
        };
        _subscriptions[id] = subscription;
        return subscription;
    }

    public JsonObject Subscription(string id) => (JsonObject)_subscriptions[id].DeepClone();

    public static JsonObject CheckoutSession(string id, Guid organizationId, string customer, string subscription) => new()
    {
        ["id"] = id,
        ["object"] = "checkout.session",
        ["client_reference_id"] = organizationId.ToString(),
        ["customer"] = customer,
        ["subscription"] = subscription,
        ["mode"] = "subscription",
        ["status"] = "complete",
        ["payment_status"] = "paid",
        ["livemode"] = false,
        ["metadata"] = new JsonObject { ["organization_id"] = organizationId.ToString() },
        ["url"] = null,
    };

    public static JsonObject Invoice(string id, string customer, string subscription, string status) => new()
    {
        ["id"] = id,
        ["object"] = "invoice",
        ["customer"] = customer,
        ["status"] = status,
        ["amount_due"] = 2900,
        ["amount_paid"] = status == "paid" ? 2900 : 0,
        ["currency"] = "usd",
        ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["livemode"] = false,
        ["number"] = $"STUB-{id[^4..]}",
        ["hosted_invoice_url"] = $"https://invoice.stripe.com/i/{id}",
        ["invoice_pdf"] = $"https://pay.stripe.com/invoice/{id}/pdf",
        ["parent"] = new JsonObject
        {
            ["type"] = "subscription_details",
            ["quote_details"] = null,
            ["subscription_details"] = new JsonObject { ["subscription"] = subscription, ["metadata"] = new JsonObject() },
        },
    };

    /// <summary>An event envelope exactly as Stripe posts it.</summary>
    public static string Event(string id, string type, JsonObject dataObject, DateTimeOffset? created = null) => new JsonObject
    {
        ["id"] = id,
        ["object"] = "event",
        ["api_version"] = ApiVersion,
        ["created"] = (created ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds(),
        ["data"] = new JsonObject { ["object"] = dataObject },
        ["livemode"] = false,
        ["pending_webhooks"] = 1,
        ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
        ["type"] = type,
    }.ToJsonString();

    /// <summary>The Stripe-Signature header: <c>t=…,v1=HMAC-SHA256(secret, "{t}.{payload}")</c> in lowercase hex.</summary>
    public static string Sign(string payload, DateTimeOffset? at = null, string secret = WebhookSecret)
    {
        var timestamp = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{payload}"));
        return $"t={timestamp},v1={Convert.ToHexStringLower(mac)}";
    }

    public void Dispose() => Server.Stop();

    private void Route(string method, string pathPattern, Func<IRequestMessage, Dictionary<string, string>, ResponseMessage> handle) =>
        Server.Given(Request.Create().UsingMethod(method).WithPath(new RegexMatcher(pathPattern))
            .WithHeader("Authorization", $"Bearer {ApiKey}"))
            .AtPriority(10)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                var form = ParseForm(request.Body);
                var key = request.Headers?.FirstOrDefault(h => h.Key.Equals("Idempotency-Key", StringComparison.OrdinalIgnoreCase))
                    .Value?.FirstOrDefault();
                _calls.Enqueue((request.Method, request.Path, form, key));
                return handle(request, form);
            }));

    private ResponseMessage CreateCustomer(IRequestMessage request, Dictionary<string, string> form)
    {
        var key = request.Headers?.FirstOrDefault(h => h.Key.Equals("Idempotency-Key", StringComparison.OrdinalIgnoreCase))
            .Value?.FirstOrDefault() ?? Guid.NewGuid().ToString();
        var id = _customersByIdempotencyKey.GetOrAdd(key, _ => $"cus_stub{Interlocked.Increment(ref _sequence)}");
        return Json(200, new JsonObject
        {
            ["id"] = id,
            ["object"] = "customer",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["email"] = form.GetValueOrDefault("email"),
            ["name"] = form.GetValueOrDefault("name"),
            ["livemode"] = false,
            ["metadata"] = new JsonObject { ["organization_id"] = form.GetValueOrDefault("metadata[organization_id]") },
        });
    }

    private ResponseMessage CreateCheckoutSession(IRequestMessage request, Dictionary<string, string> form)
    {
        var id = $"cs_test_stub{Interlocked.Increment(ref _sequence)}";
        return Json(200, new JsonObject
        {
            ["id"] = id,
            ["object"] = "checkout.session",
            ["client_reference_id"] = form.GetValueOrDefault("client_reference_id"),
            ["customer"] = form.GetValueOrDefault("customer"),
            ["mode"] = form.GetValueOrDefault("mode"),
            ["status"] = "open",
            ["payment_status"] = "unpaid",
            ["livemode"] = false,
            ["success_url"] = form.GetValueOrDefault("success_url"),
            ["cancel_url"] = form.GetValueOrDefault("cancel_url"),
            ["url"] = $"https://checkout.stripe.com/c/pay/{id}",
        });
    }

    private ResponseMessage CreatePortalSession(IRequestMessage request, Dictionary<string, string> form) => Json(200, new JsonObject
    {
        ["id"] = $"bps_stub{Interlocked.Increment(ref _sequence)}",
        ["object"] = "billing_portal.session",
        ["customer"] = form.GetValueOrDefault("customer"),
        ["livemode"] = false,
        ["return_url"] = form.GetValueOrDefault("return_url"),
        ["url"] = $"https://billing.stripe.com/p/session/test_stub{_sequence}",
    });

    private ResponseMessage GetSubscription(IRequestMessage request, Dictionary<string, string> form)
    {
        var id = request.Path.Split('/')[^1];
        return _subscriptions.TryGetValue(id, out var subscription)
            ? Json(200, subscription.DeepClone())
            : Error(404, "resource_missing", $"No such subscription: '{id}'");
    }

    private ResponseMessage ListInvoices(IRequestMessage request, Dictionary<string, string> form)
    {
        var customer = request.Query?.TryGetValue("customer", out var values) == true ? values.FirstOrDefault() : null;
        var invoices = new JsonArray();
        foreach (var subscription in _subscriptions.Values.Where(s => (string?)s["customer"] == customer))
        {
            invoices.Add(Invoice($"in_{subscription["id"]}", customer!, (string)subscription["id"]!, "paid"));
        }

        return Json(200, new JsonObject { ["object"] = "list", ["data"] = invoices, ["has_more"] = false, ["url"] = "/v1/invoices" });
    }

    private static ResponseMessage CreateMeterEvent(IRequestMessage request, Dictionary<string, string> form) => Json(200, new JsonObject
    {
        ["object"] = "billing.meter_event",
        ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["event_name"] = form.GetValueOrDefault("event_name"),
        ["identifier"] = form.GetValueOrDefault("identifier"),
        ["livemode"] = false,
        ["payload"] = new JsonObject
        {
            ["stripe_customer_id"] = form.GetValueOrDefault("payload[stripe_customer_id]"),
            ["value"] = form.GetValueOrDefault("payload[value]")
        },
        ["timestamp"] = long.Parse(form.GetValueOrDefault("timestamp") ?? "0", CultureInfo.InvariantCulture),
    });

    private static Dictionary<string, string> ParseForm(string? body)
    {
        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in (body ?? string.Empty).Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            form[Uri.UnescapeDataString(parts[0].Replace('+', ' '))] = parts.Length > 1
                ? Uri.UnescapeDataString(parts[1].Replace('+', ' '))
                : string.Empty;
        }

        return form;
    }

    private static ResponseMessage Error(int status, string code, string message) =>
        Json(status,
            new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message, ["type"] = "invalid_request_error" } });

    private static ResponseMessage Json(int status, JsonNode body) => new()
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMockList<string>>
        {
            ["Content-Type"] = new("application/json"),
            ["Request-Id"] = new($"req_stub{Guid.NewGuid():N}"),
        },
        BodyData = new BodyData
        {
            BodyAsString = body.ToJsonString(),
            DetectedBodyType = BodyType.String,
            Encoding = Encoding.UTF8,
        },
    };
}
