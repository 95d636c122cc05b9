using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Webhooks;
using CleanCrm.Application.Webhooks.Commands.CreateWebhookEndpoint;
using CleanCrm.Application.Webhooks.Commands.DeleteWebhookEndpoint;
using CleanCrm.Application.Webhooks.Commands.RedeliverWebhook;
using CleanCrm.Application.Webhooks.Commands.UpdateWebhookEndpoint;
using CleanCrm.Application.Webhooks.Queries.GetWebhookEndpoint;
using CleanCrm.Application.Webhooks.Queries.ListWebhookDeliveries;
using CleanCrm.Application.Webhooks.Queries.ListWebhookEndpoints;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>Outgoing webhooks to the customer's own systems, signed with the Standard Webhooks scheme (docs/WORKFLOWS.md).</summary>
public static class OutgoingWebhooksEndpoints
{
    public static IEndpointRouteBuilder MapOutgoingWebhooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/webhook-endpoints").WithTags("Webhook endpoints").RequireAuthorization().RequireOrg()
            .WithCrmProblems();

        group.MapGet("/", async (IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListWebhookEndpoints(), ct)))
            .WithName("WebhookEndpoints_List")
            .WithSummary("List webhook endpoints")
            .WithDescription("Owner/admin, feature workflows: the organization's endpoints ({items}), never their secrets.")
            .Produces<WebhookEndpointList>();

        group.MapPost("/", async ([FromBody] WebhookEndpointFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateWebhookEndpoint(body), ct), x => $"/api/v1/webhook-endpoints/{x.Id}",
                    x => x.Version))
            .WithName("WebhookEndpoints_Create")
            .WithSummary("Create a webhook endpoint")
            .WithDescription("Owner/admin, feature workflows: registers an http(s) URL for the named events and answers 201 with the "
                + "signing secret (whsec_...), shown this once. A private, loopback or link-local target, a malformed URL or an "
                + "unknown event name is a 400 naming it.")
            .Produces<CreatedWebhookEndpointDto>(StatusCodes.Status201Created);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetWebhookEndpoint(id), ct), x => x.Version))
            .WithName("WebhookEndpoints_Get")
            .WithSummary("Get a webhook endpoint")
            .WithDescription("Owner/admin, feature workflows: one endpoint with its ETag, its status and why it was disabled.")
            .Produces<WebhookEndpointDto>();

        group.MapPatch("/{id:guid}",
            async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new UpdateWebhookEndpoint(id, patch, ifMatch), ct), x => x.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("WebhookEndpoints_Update")
            .WithSummary("Update a webhook endpoint")
            .WithDescription("Owner/admin, feature workflows: JSON merge patch of url, events and status (\"enabled\" turns a disabled "
                + "endpoint back on); If-Match makes it conditional (412 when stale).")
            .Accepts<WebhookEndpointPatch>("application/merge-patch+json", "application/json")
            .Produces<WebhookEndpointDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteWebhookEndpoint(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("WebhookEndpoints_Delete")
            .WithSummary("Delete a webhook endpoint")
            .WithDescription("Owner/admin, feature workflows: nothing more is delivered to it; If-Match makes it conditional.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapGet("/{id:guid}/deliveries",
                async (Guid id, [AsParameters] ListDeliveriesParameters p, IMediator mediator, CancellationToken ct) =>
                    HttpResults.Ok(await mediator.Send(new ListWebhookDeliveries(id, p.Limit, p.Cursor), ct)))
            .WithName("WebhookEndpoints_ListDeliveries")
            .WithSummary("List an endpoint's deliveries")
            .WithDescription("Owner/admin, feature workflows: the delivery log, newest first ({items,nextCursor}); each delivery with its "
                + "status, attempts, next attempt and the response codes of its latest attempts.")
            .Produces<Page<WebhookDeliveryDto>>();

        group.MapPost("/{id:guid}/deliveries/{deliveryId:guid}/redeliver",
                async (Guid id, Guid deliveryId, IMediator mediator, CancellationToken ct) =>
                    await mediator.Send(new RedeliverWebhook(id, deliveryId), ct) is { IsSuccess: false } failed
                        ? Problems.Result(failed.Error!)
                        : TypedResults.Accepted($"/api/v1/webhook-endpoints/{id}/deliveries"))
            .WithName("WebhookEndpoints_Redeliver")
            .WithSummary("Redeliver a webhook")
            .WithDescription("Owner/admin, feature workflows: queues one more attempt of the delivery now (same webhook-id, fresh "
                + "timestamp and signature) and answers 202; 409 endpoint_disabled when the endpoint is disabled.")
            .Produces(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return app;
    }

    public sealed record ListDeliveriesParameters(int? Limit, string? Cursor);
}
