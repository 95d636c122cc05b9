using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Billing;
using CleanCrm.Application.Billing.Commands.ChangeOrganizationPlan;
using CleanCrm.Application.Billing.Commands.ClearFeatureOverride;
using CleanCrm.Application.Billing.Commands.OpenBillingPortal;
using CleanCrm.Application.Billing.Commands.SetFeatureOverride;
using CleanCrm.Application.Billing.Commands.SetLimitOverrides;
using CleanCrm.Application.Billing.Commands.StartCheckout;
using CleanCrm.Application.Billing.Queries.GetEntitlements;
using CleanCrm.Application.Billing.Queries.GetFeatures;
using CleanCrm.Application.Billing.Queries.GetSubscription;
using CleanCrm.Application.Billing.Queries.GetUsageReport;
using CleanCrm.Application.Billing.Queries.ListInvoices;
using CleanCrm.Application.Common.Results;
using CleanCrm.Infrastructure.Billing;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>
/// Features, entitlements and Stripe billing, admin plan/feature/limit overrides and the Stripe webhook (docs/API.md, docs/BILLING.md).
/// </summary>
public static class BillingEndpoints
{
    public static IEndpointRouteBuilder MapBilling(this IEndpointRouteBuilder app)
    {
        var features = app.MapGroup("/api/v1/features").WithTags("Billing").RequireAuthorization().RequireOrg().WithCrmProblems();
        features.MapGet("/", async (IMediator mediator, CancellationToken ct) => HttpResults.Ok(await mediator.Send(new GetFeatures(), ct)))
            .WithName("Features_Get")
            .WithSummary("Get the organization's features")
            .WithDescription("Returns which features the organization's plan (and overrides) enable; premium endpoints answer 403 "
                + "feature_disabled otherwise.")
            .Produces<Dictionary<string, bool>>();

        // A suspended org keeps its billing endpoints, so its owner can pay and be resumed.
        var billing = app.MapGroup("/api/v1/billing").WithTags("Billing").RequireAuthorization().RequireOrg().WithCrmProblems()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        billing.MapGet("/entitlements", async (IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new GetEntitlements(), ct)))
            .WithName("Billing_GetEntitlements")
            .WithSummary("Get entitlements")
            .WithDescription("Returns the organization's plan limits and current usage.")
            .AllowSuspendedOrg()
            .Produces<EntitlementsDto>();
        billing.MapGet("/usage", async (IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new GetUsageReport(), ct)))
            .WithName("Billing_GetUsage")
            .WithSummary("Get the usage report")
            .WithDescription("Returns metered usage per billing period.")
            .Produces<UsageReportDto>();
        billing.MapGet("/subscription", async (IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new GetSubscription(), ct)))
            .WithName("Billing_GetSubscription")
            .WithSummary("Get the subscription")
            .WithDescription("Returns the organization's plan and subscription state.")
            .AllowSuspendedOrg()
            .Produces<SubscriptionDto>();
        billing.MapGet("/invoices", async (IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new ListInvoices(), ct)))
            .WithName("Billing_ListInvoices")
            .WithSummary("List invoices")
            .WithDescription("Returns the organization's invoices.")
            .AllowSuspendedOrg()
            .Produces<InvoiceListDto>();
        billing.MapPost("/checkout", async ([FromBody] CheckoutFields body, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new StartCheckout(body), ct)))
            .WithName("Billing_StartCheckout")
            .WithSummary("Start a checkout")
            .WithDescription("Starts a Stripe checkout session to change plan; open the returned URL.")
            .AllowSuspendedOrg()
            .Produces<CheckoutSessionDto>();
        billing.MapPost("/portal", async (IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new OpenBillingPortal(), ct)))
            .WithName("Billing_OpenPortal")
            .WithSummary("Open the billing portal")
            .WithDescription("Returns a Stripe billing portal URL for the organization.")
            .AllowSuspendedOrg()
            .Produces<CheckoutSessionDto>();

        var admin = app.MapGroup("/api/v1/admin/organizations").WithTags("Administration").RequireAuthorization()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPut("/{id:guid}/plan", async (Guid id, [FromBody] ChangePlanFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ChangeOrganizationPlan(id, body), ct)))
            .WithName("Admin_ChangePlan")
            .WithSummary("Change an organization's plan")
            .WithDescription("Platform admin: sets an organization's plan.")
            .Produces<OrganizationBillingDto>();
        admin.MapPut("/{id:guid}/features/{key}",
            async (Guid id, string key, [FromBody] FeatureOverrideFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new SetFeatureOverride(id, key, body), ct)))
            .WithName("Admin_SetFeatureOverride")
            .WithSummary("Override a feature")
            .WithDescription("Platform admin: turns a feature on or off for one organization.")
            .Produces<OrganizationBillingDto>();
        admin.MapDelete("/{id:guid}/features/{key}", async (Guid id, string key, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ClearFeatureOverride(id, key), ct)))
            .WithName("Admin_ClearFeatureOverride")
            .WithSummary("Clear a feature override")
            .WithDescription("Platform admin: removes a feature override, so the plan decides again.")
            .Produces<OrganizationBillingDto>();
        admin.MapPut("/{id:guid}/limits", async (Guid id, [FromBody] LimitOverrideFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new SetLimitOverrides(id, body), ct)))
            .WithName("Admin_SetLimitOverrides")
            .WithSummary("Override limits")
            .WithDescription("Platform admin: overrides plan limits for one organization.")
            .Produces<OrganizationBillingDto>();

        app.MapPost("/webhooks/stripe", async (HttpRequest request, StripeWebhookProcessor processor,
                CleanCrm.Infrastructure.Observability.OperationsMetrics metrics, CancellationToken ct) =>
            {
                // The signature covers the exact bytes Stripe sent, so the body is read raw, never re-serialized.
                using var reader = new StreamReader(request.Body, System.Text.Encoding.UTF8);
                var payload = await reader.ReadToEndAsync(ct);
                WebhookOutcome result;
                try
                {
                    result = await processor.ProcessAsync(payload, request.Headers["Stripe-Signature"].ToString(), ct);
                }
                catch (Exception) when (!ct.IsCancellationRequested)
                {
                    metrics.WebhookReceived(StripeWebhookProcessor.Provider, "failed");
                    throw;
                }

                metrics.WebhookReceived(StripeWebhookProcessor.Provider, System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(
                    result.ToString()));
                return result switch
                {
                    WebhookOutcome.InvalidSignature => Problems.Result(new Error(ErrorType.BadRequest, "invalid_signature",
                        "The Stripe-Signature header does not match the payload, or the delivery is too old.")),
                    WebhookOutcome.NotConfigured => Problems.Result(BillingErrors.NotConfigured()),
                    var outcome => TypedResults.Ok(new StripeWebhookAck(true, outcome == WebhookOutcome.Duplicate)),
                };
            })
            .WithTags("Webhooks")
            .WithName("Webhooks_ReceiveStripe")
            .WithSummary("Receive a Stripe webhook")
            .WithDescription("Stripe calls this with signed billing events; not for API clients.")
            .AllowAnonymous()
            .Produces<StripeWebhookAck>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }
}

public sealed record StripeWebhookAck(bool Received, bool Duplicate);
