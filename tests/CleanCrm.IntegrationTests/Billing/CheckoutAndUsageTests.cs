using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Application.Billing;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Billing;
using CleanCrm.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace CleanCrm.IntegrationTests.Billing;

[Collection(PlatformCollection.Name)]
public sealed class CheckoutAndUsageTests(SharedPlatform platform)
{
    private Task<BillingHost> HostAsync() => platform.SharedAsync("billing-host", () => Task.FromResult(new BillingHost(platform)));

    [Fact]
    public async Task Checkout_creates_one_customer_per_org_and_a_subscription_session_for_every_member()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var member = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner), (member, OrgRole.Member)]);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);

        var first = await client.PostAsJsonAsync("/api/v1/billing/checkout", new { plan = "pro" });
        first.StatusCode.ShouldBe(HttpStatusCode.OK, await first.Content.ReadAsStringAsync());
        (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString()
            .ShouldStartWith("https://checkout.stripe.com/c/pay/cs_test_");
        var second = await client.PostAsJsonAsync("/api/v1/billing/checkout", new { plan = "enterprise" });
        second.StatusCode.ShouldBe(HttpStatusCode.OK, await second.Content.ReadAsStringAsync());

        var customers = host.Stripe.Calls.Where(c => c.Path == "/v1/customers"
            && c.Form.GetValueOrDefault("metadata[organization_id]") == organization.Id.ToString()).ToList();
        customers.Count.ShouldBe(1, "the customer is created once and remembered");
        customers[0].IdempotencyKey.ShouldBe($"cleancrm-customer-{organization.Id:N}");
        customers[0].Form["email"].ShouldBe(owner.Email);
        await using var db = await platform.CatalogAsync();
        var customerId = (await db.Subscriptions.SingleAsync(s => s.OrganizationId == organization.Id)).StripeCustomerId;
        customerId.ShouldStartWith("cus_");
        var sessions = host.Stripe.FormsPostedTo("/v1/checkout/sessions")
            .Where(f => f.GetValueOrDefault("client_reference_id") == organization.Id.ToString()).ToList();
        sessions.Count.ShouldBe(2);
        sessions[0]["mode"].ShouldBe("subscription");
        sessions[0]["customer"].ShouldBe(customerId);
        sessions[0]["line_items[0][price]"].ShouldBe(StripeStub.ProPrice);
        sessions[0]["line_items[0][quantity]"].ShouldBe("2");
        sessions[0]["metadata[organization_id]"].ShouldBe(organization.Id.ToString());
        sessions[0]["subscription_data[metadata][organization_id]"].ShouldBe(organization.Id.ToString());
        sessions[1]["line_items[0][price]"].ShouldBe(StripeStub.EnterprisePrice);

        (await Problem.ReadAsync(await client.PostAsJsonAsync("/api/v1/billing/checkout", new { plan = "free" }),
            HttpStatusCode.BadRequest)).Errors!.ShouldContainKey("plan");
        (await Problem.ReadAsync(await client.PostAsJsonAsync("/api/v1/billing/checkout", new { }), HttpStatusCode.BadRequest))
            .Errors!.ShouldContainKey("plan");
        (await Problem.ReadAsync(await client.PostAsJsonAsync("/api/v1/billing/checkout", new { plan = 5 }), HttpStatusCode.BadRequest))
            .Status.ShouldBe(400);
    }

    [Fact]
    public async Task Checkout_answers_503_billing_unavailable_while_stripe_fails_and_works_once_stripe_is_back()
    {
        // docs/reliability.md, scenario 5d: Stripe answering 500 (after Stripe.net's own two retries) used to be a 500.
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        var outage = Guid.NewGuid();
        host.Stripe.Server.Given(Request.Create().UsingPost().WithPath("/v1/checkout/sessions")
                .WithBody(new RegexMatcher(organization.Id.ToString())))
            .WithGuid(outage).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500).WithHeader("Content-Type", "application/json")
                .WithBody("""{"error":{"type":"api_error","message":"An unknown error occurred (stub outage)."}}"""));

        var refused = await client.PostAsJsonAsync("/api/v1/billing/checkout", new { plan = "pro" });
        var problem = await Problem.ReadAsync(refused, HttpStatusCode.ServiceUnavailable);
        problem.Code.ShouldBe(BillingErrors.BillingUnavailable);
        refused.Headers.RetryAfter.ShouldNotBeNull();
        problem.Detail.ShouldNotContain("stub outage");
        host.Stripe.FormsPostedTo("/v1/checkout/sessions")
            .Count(f => f.GetValueOrDefault("client_reference_id") == organization.Id.ToString())
            .ShouldBe(0, "the failing attempts are answered by the outage mapping, not the stub's route");

        host.Stripe.Server.DeleteMapping(outage);
        var retried = await client.PostAsJsonAsync("/api/v1/billing/checkout", new { plan = "pro" });
        retried.StatusCode.ShouldBe(HttpStatusCode.OK, await retried.Content.ReadAsStringAsync());
        host.Stripe.Calls.Count(c => c.Path == "/v1/customers"
                && c.Form.GetValueOrDefault("metadata[organization_id]") == organization.Id.ToString())
            .ShouldBeInRange(1, 2, "the customer is created with the same idempotency key on the retry");
        await using var db = await platform.CatalogAsync();
        (await db.Subscriptions.Where(s => s.OrganizationId == organization.Id).Select(s => s.StripeCustomerId).ToListAsync())
            .ShouldHaveSingleItem().ShouldStartWith("cus_");
    }

    [Fact]
    public async Task Portal_needs_a_customer_and_invoices_come_from_stripe_for_this_org_only()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var stranger = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var other = await platform.CreateOrganizationAsync(members: [(stranger, OrgRole.Owner)]);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);

        (await Problem.ReadAsync(await client.PostAsync("/api/v1/billing/portal", null), HttpStatusCode.Conflict))
            .Detail.ShouldContain("checkout");
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/invoices")).GetProperty("items").GetArrayLength().ShouldBe(0);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/subscription")).GetProperty("status").GetString().ShouldBe("none");

        var (customer, subscription) = await StripeWebhookTests.SubscribeAsync(host, organization.Id, "active", StripeStub.ProPrice);
        var portal = await client.PostAsync("/api/v1/billing/portal", null);
        portal.StatusCode.ShouldBe(HttpStatusCode.OK, await portal.Content.ReadAsStringAsync());
        (await portal.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString()
            .ShouldStartWith("https://billing.stripe.com/p/session/");
        host.Stripe.FormsPostedTo("/v1/billing_portal/sessions").ShouldContain(f => f["customer"] == customer);
        var invoices = (await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/invoices")).GetProperty("items");
        invoices.GetArrayLength().ShouldBe(1);
        invoices[0].GetProperty("id").GetString().ShouldBe($"in_{subscription}");
        invoices[0].GetProperty("amountPaid").GetInt64().ShouldBe(2900);
        invoices[0].GetProperty("currency").GetString().ShouldBe("usd");

        // Another org's owner naming this org gets 404, and sees only their own (empty) billing.
        await Problem.ReadAsync(await host.Api.ClientFor(stranger.Id, organization.Slug).GetAsync("/api/v1/billing/invoices"),
            HttpStatusCode.NotFound);
        (await host.Api.ClientFor(stranger.Id, other.Slug).GetFromJsonAsync<JsonElement>("/api/v1/billing/invoices")).GetProperty("items")
            .GetArrayLength().ShouldBe(0);
        (await host.Api.ClientFor(stranger.Id, other.Slug).GetFromJsonAsync<JsonElement>("/api/v1/billing/subscription"))
            .GetProperty("plan").GetString().ShouldBe("free");
    }

    [Fact]
    public async Task Checkout_is_refused_while_a_subscription_is_active()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        await StripeWebhookTests.SubscribeAsync(host, organization.Id, "active", StripeStub.ProPrice);

        (await Problem.ReadAsync(await host.Api.ClientFor(owner.Id, organization.Slug)
            .PostAsJsonAsync("/api/v1/billing/checkout", new { plan = "enterprise" }), HttpStatusCode.Conflict))
            .Detail.ShouldContain("portal");
    }

    [Fact]
    public async Task Ai_tokens_are_metered_once_per_idempotency_key_up_to_the_monthly_allowance()
    {
        var host = await HostAsync();
        var pro = await platform.CreateOrganizationAsync(plan: Plan.Pro);
        var free = await platform.CreateOrganizationAsync();
        var enterprise = await platform.CreateOrganizationAsync(plan: Plan.Enterprise);
        var meter = host.Api.Services.GetRequiredService<IUsageMeter>();

        var first = await meter.TryConsumeAsync(pro.Id, UsageMetrics.AiTokens, 60_000, "call-1");
        first.IsSuccess.ShouldBeTrue();
        first.Value.UsedThisPeriod.ShouldBe(60_000);
        var repeat = await meter.TryConsumeAsync(pro.Id, UsageMetrics.AiTokens, 60_000, "call-1");
        repeat.Value.Duplicate.ShouldBeTrue();
        repeat.Value.UsedThisPeriod.ShouldBe(60_000);

        var over = await meter.TryConsumeAsync(pro.Id, UsageMetrics.AiTokens, 50_000, "call-2");
        over.IsSuccess.ShouldBeFalse();
        over.Error!.Code.ShouldBe("plan_limit_reached");
        over.Error.Type.ShouldBe(Application.Common.Results.ErrorType.PaymentRequired);
        over.Error.Errors!.ShouldContainKey("ai_tokens");
        (await meter.TryConsumeAsync(pro.Id, UsageMetrics.AiTokens, 40_000, "call-2"))
            .IsSuccess.ShouldBeTrue("the refused call recorded nothing, so its key is free");

        (await meter.TryConsumeAsync(free.Id, UsageMetrics.AiTokens, 1, "free-1")).Error!.Code.ShouldBe("plan_limit_reached");
        (await meter.TryConsumeAsync(enterprise.Id, UsageMetrics.AiTokens, 10_000_000, "big")).IsSuccess.ShouldBeTrue();
        (await meter.TryConsumeAsync(pro.Id, "gpu_hours", 1, "x")).Error!.Code.ShouldBe("validation_failed");
        (await meter.TryConsumeAsync(pro.Id, UsageMetrics.AiTokens, 0, "x")).Error!.Code.ShouldBe("validation_failed");
        (await meter.TryConsumeAsync(pro.Id, UsageMetrics.AiTokens, 1, "")).Error!.Code.ShouldBe("validation_failed");
        (await meter.TryConsumeAsync(Guid.NewGuid(), UsageMetrics.AiTokens, 1, "x")).Error!.Code.ShouldBe("not_found");

        using var scope = host.Api.Services.CreateScope();
        var usage = (await scope.ServiceProvider.GetRequiredService<IEntitlements>().GetAsync(pro.Id))!.Usage;
        usage.AiTokens.ShouldBe(100_000);
    }

    [Fact]
    public async Task Concurrent_consumption_never_overshoots_the_allowance()
    {
        var host = await HostAsync();
        var pro = await platform.CreateOrganizationAsync(plan: Plan.Pro);
        var meter = host.Api.Services.GetRequiredService<IUsageMeter>();

        var results = await Task.WhenAll(
            Enumerable.Range(0, 16).Select(i => meter.TryConsumeAsync(pro.Id, UsageMetrics.AiTokens, 10_000, $"parallel-{i}")));

        results.Count(r => r.IsSuccess).ShouldBe(10);
        results.Where(r => !r.IsSuccess).ShouldAllBe(r => r.Error!.Code == "plan_limit_reached");
        await using var db = await platform.CatalogAsync();
        (await db.UsageRollups.SingleAsync(r => r.OrganizationId == pro.Id)).Quantity.ShouldBe(100_000);
        (await db.UsageEvents.CountAsync(e => e.OrganizationId == pro.Id)).ShouldBe(10);
    }

    [Fact]
    public async Task Closed_periods_are_reported_to_the_stripe_meter_once_with_the_rollup_id_as_identifier()
    {
        var host = await HostAsync();
        var organization = await platform.CreateOrganizationAsync(plan: Plan.Pro);
        var (customer, _) = await StripeWebhookTests.SubscribeAsync(host, organization.Id, "active", StripeStub.ProPrice);
        var (start, end) = UsageRollup.PeriodOf(DateTimeOffset.UtcNow.AddMonths(-1));
        var rollup = new UsageRollup
        {
            OrganizationId = organization.Id,
            Metric = UsageMetrics.AiTokens,
            PeriodStart = start,
            PeriodEnd = end,
            Quantity = 4242
        };
        await using (var db = await platform.CatalogAsync())
        {
            db.UsageRollups.Add(rollup);
            await db.SaveChangesAsync();
        }

        var job = host.Api.Services.GetRequiredService<UsageReportingJob>();
        (await job.RunAsync(CancellationToken.None)).ShouldBeGreaterThanOrEqualTo(1);
        await job.RunAsync(CancellationToken.None);

        var sent = host.Stripe.Calls.Where(c => c.Path == "/v1/billing/meter_events"
            && c.Form.GetValueOrDefault("identifier") == rollup.Id.ToString()).ToList();
        sent.Count.ShouldBe(1);
        sent[0].Form["event_name"].ShouldBe("ai_tokens");
        sent[0].Form["payload[stripe_customer_id]"].ShouldBe(customer);
        sent[0].Form["payload[value]"].ShouldBe("4242");
        sent[0].IdempotencyKey.ShouldBe($"cleancrm-meter-{rollup.Id:N}");
        await using var check = await platform.CatalogAsync();
        (await check.UsageRollups.SingleAsync(r => r.Id == rollup.Id)).ReportedAt.ShouldNotBeNull();
    }

    [Fact]
    public async Task The_plan_budget_answers_429_with_rate_limit_headers_then_recovers()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var neighbour = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        (await host.Admin(admin.Id).PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/limits",
            new { apiRequestsPer10Seconds = 3 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var client = host.Api.ClientFor(owner.Id, organization.Slug);

        var remaining = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var ok = await client.GetAsync("/api/v1/features");
            ok.StatusCode.ShouldBe(HttpStatusCode.OK);
            ok.Headers.GetValues("RateLimit-Limit").Single().ShouldBe("3");
            remaining.Add(ok.Headers.GetValues("RateLimit-Remaining").Single());
            int.Parse(ok.Headers.GetValues("RateLimit-Reset").Single(), System.Globalization.CultureInfo.InvariantCulture)
                .ShouldBeInRange(1, 10);
        }

        remaining.ShouldBe(["2", "1", "0"]);
        var limited = await client.GetAsync("/api/v1/features");
        var problem = await Problem.ReadAsync(limited, HttpStatusCode.TooManyRequests);
        problem.Type.ShouldEndWith("/rate_limited");
        var retryAfter = int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        retryAfter.ShouldBeInRange(1, 10);
        (await host.Api.ClientFor(owner.Id, neighbour.Slug).GetAsync("/api/v1/features"))
            .StatusCode.ShouldBe(HttpStatusCode.OK, "another org has its own budget");

        // The fixed window runs on real time (System.Threading.RateLimiting takes no TimeProvider): poll until the budget
        // is back, which must happen by the announced Retry-After.
        var waiting = Stopwatch.StartNew();
        HttpStatusCode status;
        while ((status = (await client.GetAsync("/api/v1/features")).StatusCode) == HttpStatusCode.TooManyRequests)
        {
            waiting.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(retryAfter + 1), $"still limited after Retry-After: {retryAfter}");
            await Task.Delay(100);
        }

        status.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_org_bound_client_has_its_own_budget()
    {
        var host = await HostAsync();
        var owner = await platform.CreateUserAsync();
        var admin = await platform.CreateUserAsync(platformAdmin: true);
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        (await host.Admin(admin.Id).PutAsJsonAsync($"/api/v1/admin/organizations/{organization.Id}/limits",
            new { apiRequestsPer10Seconds = 2 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var user = host.Api.ClientFor(owner.Id, organization.Slug);
        for (var i = 0; i < 2; i++)
        {
            (await user.GetAsync("/api/v1/features")).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await user.GetAsync("/api/v1/features")).StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        var bound = host.Api.ClientFor(owner.Id, orgClaim: organization.Id, role: "admin");
        (await bound.GetAsync("/api/v1/features"))
            .StatusCode.ShouldBe(HttpStatusCode.OK, "the client's requests count in its own partition");
    }
}
