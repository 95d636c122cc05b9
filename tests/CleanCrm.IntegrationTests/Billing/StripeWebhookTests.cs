using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Billing;
using CleanCrm.IntegrationTests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Billing;

[Collection(PlatformCollection.Name)]
public sealed class StripeWebhookTests(SharedPlatform platform)
{
    private Task<BillingHost> HostAsync() => platform.SharedAsync("billing-host", () => Task.FromResult(new BillingHost(platform)));

    [Fact]
    public async Task Checkout_completed_switches_the_org_to_the_paid_plan_with_its_features_and_limits()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync();
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        (await client.GetFromJsonAsync<Dictionary<string, bool>>("/api/v1/features"))!.Values.ShouldAllBe(v => !v);

        var (customer, subscription) = await SubscribeAsync(host, organization.Id, "active", StripeStub.ProPrice, quantity: 3);

        var (org, account) = await StateAsync(organization.Id);
        org.PlanKey.ShouldBe(Plan.Pro);
        account!.StripeCustomerId.ShouldBe(customer);
        account.StripeSubscriptionId.ShouldBe(subscription);
        account.Status.ShouldBe("active");
        account.Quantity.ShouldBe(3);
        account.CurrentPeriodEnd.ShouldNotBeNull();
        (await client.GetFromJsonAsync<Dictionary<string, bool>>("/api/v1/features"))!.Values.ShouldAllBe(v => v);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements")).GetProperty("limits").GetProperty("seats").GetInt32()
            .ShouldBe(5);
        var shown = await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/subscription");
        shown.GetProperty("plan").GetString().ShouldBe("pro");
        shown.GetProperty("status").GetString().ShouldBe("active");
        shown.GetProperty("quantity").GetInt32().ShouldBe(3);
    }

    [Fact]
    public async Task Subscription_created_updated_and_deleted_move_the_plan_and_features_at_once()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync();
        var client = host.Api.ClientFor(owner.Id, organization.Slug);
        var customer = NewId("cus");
        var subscription = NewId("sub");
        await LinkCustomerAsync(organization.Id, customer);

        var created = host.Stripe.PutSubscription(subscription, customer, organization.Id, "trialing", StripeStub.ProPrice,
            trialEnd: DateTimeOffset.UtcNow.AddDays(14).ToUnixTimeSeconds());
        await DeliverOkAsync(host, StripeStub.Event(NewId("evt"), "customer.subscription.created", created));
        (await StateAsync(organization.Id)).Organization.PlanKey.ShouldBe(Plan.Pro);
        (await StateAsync(organization.Id)).Subscription!.TrialEndsAt.ShouldNotBeNull();

        var updated =
            host.Stripe.PutSubscription(subscription, customer, organization.Id, "active", StripeStub.EnterprisePrice, quantity: 8);
        await DeliverOkAsync(host, StripeStub.Event(NewId("evt"), "customer.subscription.updated", updated));
        var (org, account) = await StateAsync(organization.Id);
        org.PlanKey.ShouldBe(Plan.Enterprise);
        account!.Quantity.ShouldBe(8);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements")).GetProperty("limits").GetProperty("seats")
            .ValueKind.ShouldBe(JsonValueKind.Null);

        var deleted = host.Stripe.PutSubscription(subscription, customer, organization.Id, "canceled", StripeStub.EnterprisePrice);
        await DeliverOkAsync(host, StripeStub.Event(NewId("evt"), "customer.subscription.deleted", deleted));
        (await StateAsync(organization.Id)).Organization.PlanKey.ShouldBe(Plan.Free);
        (await client.GetFromJsonAsync<Dictionary<string, bool>>("/api/v1/features"))!.Values.ShouldAllBe(v => !v);
        (await client.GetFromJsonAsync<JsonElement>("/api/v1/billing/entitlements")).GetProperty("limits").GetProperty("seats").GetInt32()
            .ShouldBe(1);
    }

    [Fact]
    public async Task Trial_will_end_records_the_trial_end()
    {
        var host = await HostAsync();
        var (organization, _) = await NewOrgAsync();
        var customer = NewId("cus");
        var subscription = NewId("sub");
        await LinkCustomerAsync(organization.Id, customer);
        var trialEnd = DateTimeOffset.UtcNow.AddDays(3);
        var trialing = host.Stripe.PutSubscription(subscription, customer, organization.Id, "trialing", StripeStub.ProPrice,
            trialEnd: trialEnd.ToUnixTimeSeconds());

        await DeliverOkAsync(host, StripeStub.Event(NewId("evt"), "customer.subscription.trial_will_end", trialing));

        var account = (await StateAsync(organization.Id)).Subscription!;
        account.Status.ShouldBe("trialing");
        account.TrialEndsAt!.Value.ToUnixTimeSeconds().ShouldBe(trialEnd.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task Payment_failure_goes_past_due_then_the_grace_job_suspends_and_payment_resumes()
    {
        var host = await HostAsync();
        var (organization, owner) = await NewOrgAsync();
        var (customer, subscription) = await SubscribeAsync(host, organization.Id, "active", StripeStub.ProPrice);

        host.Stripe.PutSubscription(subscription, customer, organization.Id, "past_due", StripeStub.ProPrice);
        var failed =
            StripeStub.Event(NewId("evt"), "invoice.payment_failed", StripeStub.Invoice(NewId("in"), customer, subscription, "open"));
        await DeliverOkAsync(host, failed);
        await DeliverOkAsync(host, failed);
        var (org, account) = await StateAsync(organization.Id);
        account!.Status.ShouldBe("past_due");

        // The owner is mailed once (queued with the event's effect), however often Stripe delivers it.
        await using (var db = await platform.CatalogAsync())
        {
            var mails = await db.OutgoingEmails.Where(e => e.OrganizationId == organization.Id && e.Kind == "payment_failed").ToListAsync();
            mails.Count.ShouldBe(1);
            mails[0].ToAddress.ShouldBe(owner.Email);
            mails[0].Subject.ShouldContain(organization.Name);
        }

        account.PastDueSince.ShouldNotBeNull();
        org.PlanKey.ShouldBe(Plan.Pro, "the plan stays during the grace period");
        org.Status.ShouldBe(OrganizationStatus.Active);

        var dunning = host.Api.Services.GetRequiredService<BillingDunningJob>();
        (await dunning.RunAsync(CancellationToken.None)).ShouldBe(0, "still within the 7-day grace period");
        await using (var db = await platform.CatalogAsync())
        {
            await db.Subscriptions.Where(s => s.OrganizationId == organization.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.PastDueSince, DateTimeOffset.UtcNow.AddDays(-8)));
        }

        (await dunning.RunAsync(CancellationToken.None)).ShouldBeGreaterThanOrEqualTo(1);
        (await StateAsync(organization.Id)).Organization.Status.ShouldBe(OrganizationStatus.Suspended);
        (await Problem.ReadAsync(await host.Api.ClientFor(owner.Id, organization.Slug).GetAsync("/api/v1/features"),
            HttpStatusCode.Forbidden)).Type.ShouldEndWith("/org_suspended");
        var suspendedOwner = host.Api.ClientFor(owner.Id, organization.Slug);
        (await suspendedOwner.GetFromJsonAsync<JsonElement>("/api/v1/billing/subscription")).GetProperty("status").GetString()
            .ShouldBe("past_due");
        (await suspendedOwner.PostAsync("/api/v1/billing/portal", null))
            .StatusCode.ShouldBe(HttpStatusCode.OK, "a suspended org can still reach billing to pay");

        host.Stripe.PutSubscription(subscription, customer, organization.Id, "active", StripeStub.ProPrice);
        await DeliverOkAsync(
            host, StripeStub.Event(NewId("evt"), "invoice.paid", StripeStub.Invoice(NewId("in"), customer, subscription, "paid")));
        (org, account) = await StateAsync(organization.Id);
        org.Status.ShouldBe(OrganizationStatus.Active);
        account!.PastDueSince.ShouldBeNull();
        account.SuspendedForNonPayment.ShouldBeFalse();
        (await host.Api.ClientFor(owner.Id, organization.Slug).GetAsync("/api/v1/features")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Payment_does_not_resume_an_org_that_an_admin_suspended()
    {
        var host = await HostAsync();
        var (organization, _) = await NewOrgAsync();
        var (customer, subscription) = await SubscribeAsync(host, organization.Id, "active", StripeStub.ProPrice);
        await platform.SetStatusAsync(organization.Id, OrganizationStatus.Suspended);

        await DeliverOkAsync(
            host, StripeStub.Event(NewId("evt"), "invoice.paid", StripeStub.Invoice(NewId("in"), customer, subscription, "paid")));

        (await StateAsync(organization.Id)).Organization.Status.ShouldBe(OrganizationStatus.Suspended);
    }

    [Fact]
    public async Task A_delivery_repeated_three_times_is_acknowledged_each_time_and_applied_once()
    {
        var host = await HostAsync();
        var (organization, _) = await NewOrgAsync();
        var customer = NewId("cus");
        var subscription = NewId("sub");
        host.Stripe.PutSubscription(subscription, customer, organization.Id, "active", StripeStub.ProPrice);
        var payload = StripeStub.Event(NewId("evt"), "checkout.session.completed",
            StripeStub.CheckoutSession(NewId("cs"), organization.Id, customer, subscription));

        var first = await DeliverOkAsync(host, payload);
        first.GetProperty("duplicate").GetBoolean().ShouldBeFalse();
        (await StateAsync(organization.Id)).Organization.PlanKey.ShouldBe(Plan.Pro);

        // Stripe's state moves on; a redelivery of the old event must not be applied again.
        host.Stripe.PutSubscription(subscription, customer, organization.Id, "canceled", StripeStub.ProPrice);
        var replies = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => DeliverOkAsync(host, payload)));
        replies.ShouldAllBe(reply => reply.GetProperty("duplicate").GetBoolean());
        (await StateAsync(organization.Id)).Organization.PlanKey.ShouldBe(Plan.Pro);
        await using var db = await platform.CatalogAsync();
        (await db.WebhookEvents.CountAsync(e => e.OrganizationId == organization.Id)).ShouldBe(1);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Events_delivered_in_any_order_converge_on_the_current_subscription(int seed)
    {
        var host = await HostAsync();
        var (organization, _) = await NewOrgAsync();
        var customer = NewId("cus");
        var subscription = NewId("sub");
        var incomplete = host.Stripe.PutSubscription(subscription, customer, organization.Id, "incomplete", StripeStub.ProPrice);
        var trialing = host.Stripe.PutSubscription(subscription, customer, organization.Id, "trialing", StripeStub.ProPrice);
        var current =
            host.Stripe.PutSubscription(subscription, customer, organization.Id, "active", StripeStub.EnterprisePrice, quantity: 4);
        var t = DateTimeOffset.UtcNow.AddSeconds(-30);
        var events = new List<string>
        {
            StripeStub.Event(NewId("evt"), "customer.subscription.created", incomplete, t),
            StripeStub.Event(NewId("evt"), "checkout.session.completed",
                StripeStub.CheckoutSession(NewId("cs"), organization.Id, customer, subscription), t.AddSeconds(1)),
            StripeStub.Event(NewId("evt"), "customer.subscription.updated", trialing, t.AddSeconds(2)),
            StripeStub.Event(NewId("evt"), "invoice.paid", StripeStub.Invoice(NewId("in"), customer, subscription, "paid"),
                t.AddSeconds(3)),
            StripeStub.Event(NewId("evt"), "customer.subscription.updated", current, t.AddSeconds(4)),
        };
        // Seed -1 delivers all at once, seed 0 newest first; the others shuffle.
        var random = new Random(seed);
        if (seed < 0)
        {
            await Task.WhenAll(events.Select(payload => DeliverOkAsync(host, payload)));
        }

        foreach (var payload in seed < 0 ? [] : seed == 0 ? Enumerable.Reverse(events) : events.OrderBy(_ => random.Next()))
        {
            await DeliverOkAsync(host, payload);
        }

        var (org, account) = await StateAsync(organization.Id);
        org.PlanKey.ShouldBe(Plan.Enterprise);
        account!.Status.ShouldBe("active");
        account.Quantity.ShouldBe(4);
        account.StripeCustomerId.ShouldBe(customer);
    }

    [Fact]
    public async Task A_bad_signature_is_refused_with_400_and_changes_nothing()
    {
        var host = await HostAsync();
        var (organization, _) = await NewOrgAsync();
        var customer = NewId("cus");
        var subscription = NewId("sub");
        host.Stripe.PutSubscription(subscription, customer, organization.Id, "active", StripeStub.ProPrice);
        var eventId = NewId("evt");
        var payload = StripeStub.Event(eventId, "checkout.session.completed",
            StripeStub.CheckoutSession(NewId("cs"), organization.Id, customer, subscription));

        (await Problem.ReadAsync(await host.DeliverAsync(payload, StripeStub.Sign(payload, secret: "someone-elses-secret")),
            HttpStatusCode.BadRequest)).Type.ShouldEndWith("/invalid_signature");
        await Problem.ReadAsync(await host.DeliverAsync(payload, "garbage"), HttpStatusCode.BadRequest);
        await Problem.ReadAsync(await host.DeliverAsync(payload.Replace("\"active\"", "\"active\" ", StringComparison.Ordinal) + " ",
            StripeStub.Sign(payload)), HttpStatusCode.BadRequest);
        var missing = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe")
        {
            Content = new StringContent(payload, System.Text.Encoding.UTF8, "application/json")
        };
        await Problem.ReadAsync(await host.Api.CreateClient().SendAsync(missing), HttpStatusCode.BadRequest);

        var (org, account) = await StateAsync(organization.Id);
        org.PlanKey.ShouldBe(Plan.Free);
        account.ShouldBeNull();
        await using var db = await platform.CatalogAsync();
        (await db.WebhookEvents.AnyAsync(e => e.EventId == eventId)).ShouldBeFalse();
    }

    [Fact]
    public async Task A_replayed_delivery_with_an_old_timestamp_is_refused()
    {
        var host = await HostAsync();
        var (organization, _) = await NewOrgAsync();
        var customer = NewId("cus");
        var subscription = NewId("sub");
        host.Stripe.PutSubscription(subscription, customer, organization.Id, "active", StripeStub.ProPrice);
        var payload = StripeStub.Event(NewId("evt"), "checkout.session.completed",
            StripeStub.CheckoutSession(NewId("cs"), organization.Id, customer, subscription));

        await Problem.ReadAsync(await host.DeliverAsync(payload, StripeStub.Sign(payload, DateTimeOffset.UtcNow.AddMinutes(-10))),
            HttpStatusCode.BadRequest);

        (await StateAsync(organization.Id)).Organization.PlanKey.ShouldBe(Plan.Free);
    }

    [Fact]
    public async Task Unknown_event_types_are_acknowledged_and_recorded_without_effect()
    {
        var host = await HostAsync();
        var (organization, _) = await NewOrgAsync();
        var eventId = NewId("evt");
        var payload = StripeStub.Event(eventId, "customer.created", new JsonObject
        {
            ["id"] = NewId("cus"),
            ["object"] = "customer",
            ["metadata"] = new JsonObject { ["organization_id"] = organization.Id.ToString() }
        });

        (await DeliverOkAsync(host, payload)).GetProperty("duplicate").GetBoolean().ShouldBeFalse();
        (await DeliverOkAsync(host, payload)).GetProperty("duplicate").GetBoolean().ShouldBeTrue();

        await using var db = await platform.CatalogAsync();
        (await db.WebhookEvents.SingleAsync(e => e.EventId == eventId)).Type.ShouldBe("customer.created");
        (await StateAsync(organization.Id)).Subscription.ShouldBeNull();
    }

    [Fact]
    public async Task Signup_with_the_pro_plan_starts_on_free_and_switches_when_the_subscription_is_active()
    {
        var host = await HostAsync();
        var slug = "bill-" + Guid.NewGuid().ToString("N")[..10];
        var signup = await host.Api.CreateClient().PostAsJsonAsync("/api/v1/signup", new
        {
            organizationName = "Paid From Day One",
            slug,
            ownerEmail = $"{slug}@example.com",
            ownerName = "Paying Owner",
            ownerPassword = "correct horse battery staple",
            plan = "pro",
        });
        signup.StatusCode.ShouldBe(HttpStatusCode.Accepted, await signup.Content.ReadAsStringAsync());
        var organizationId = (await signup.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("organizationId").GetGuid();
        var (org, account) = await StateAsync(organizationId);
        org.PlanKey.ShouldBe(Plan.Free);
        account!.RequestedPlanKey.ShouldBe(Plan.Pro);

        var customer = NewId("cus");
        var subscription = NewId("sub");
        host.Stripe.PutSubscription(subscription, customer, organizationId, "incomplete", StripeStub.ProPrice);
        await DeliverOkAsync(host, StripeStub.Event(NewId("evt"), "customer.subscription.created", host.Stripe.Subscription(subscription)));
        (await StateAsync(organizationId)).Organization.PlanKey.ShouldBe(Plan.Free, "an incomplete subscription grants nothing");

        host.Stripe.PutSubscription(subscription, customer, organizationId, "active", StripeStub.ProPrice);
        await DeliverOkAsync(host, StripeStub.Event(NewId("evt"), "customer.subscription.updated", host.Stripe.Subscription(subscription)));
        (org, account) = await StateAsync(organizationId);
        org.PlanKey.ShouldBe(Plan.Pro);
        account!.RequestedPlanKey.ShouldBeNull();
    }

    internal static string NewId(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 21)];

    internal static async Task<JsonElement> DeliverOkAsync(BillingHost host, string payload)
    {
        var response = await host.DeliverAsync(payload);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("received").GetBoolean().ShouldBeTrue();
        return body;
    }

    internal static async Task<(string Customer, string Subscription)> SubscribeAsync(BillingHost host, Guid organizationId, string status,
        string price, int quantity = 1)
    {
        var customer = NewId("cus");
        var subscription = NewId("sub");
        host.Stripe.PutSubscription(subscription, customer, organizationId, status, price, quantity);
        await DeliverOkAsync(host, StripeStub.Event(NewId("evt"), "checkout.session.completed",
            StripeStub.CheckoutSession(NewId("cs"), organizationId, customer, subscription)));
        return (customer, subscription);
    }

    private async Task<(Organization Organization, UserAccount Owner)> NewOrgAsync()
    {
        var owner = await platform.CreateUserAsync();
        return (await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]), owner);
    }

    private async Task LinkCustomerAsync(Guid organizationId, string customer)
    {
        await using var db = await platform.CatalogAsync();
        db.Subscriptions.Add(
            new BillingSubscription { OrganizationId = organizationId, StripeCustomerId = customer, UpdatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync();
    }

    private async Task<(Organization Organization, BillingSubscription? Subscription)> StateAsync(Guid organizationId)
    {
        await using var db = await platform.CatalogAsync();
        return (await db.Organizations.AsNoTracking().SingleAsync(o => o.Id == organizationId),
            await db.Subscriptions.AsNoTracking().SingleOrDefaultAsync(s => s.OrganizationId == organizationId));
    }
}
