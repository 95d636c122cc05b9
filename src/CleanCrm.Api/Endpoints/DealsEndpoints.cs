using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Deals;
using CleanCrm.Application.Deals.Commands.CreateDeal;
using CleanCrm.Application.Deals.Commands.DeleteDeal;
using CleanCrm.Application.Deals.Commands.MoveDeal;
using CleanCrm.Application.Deals.Commands.SetDealSplits;
using CleanCrm.Application.Deals.Commands.UpdateDeal;
using CleanCrm.Application.Deals.Queries.GetDeal;
using CleanCrm.Application.Deals.Queries.GetDealHistory;
using CleanCrm.Application.Deals.Queries.ListDeals;
using CleanCrm.Application.Deals.Queries.ListDealSplits;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

public static class DealsEndpoints
{
    public static IEndpointRouteBuilder MapDeals(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/deals").WithTags("Deals").RequireAuthorization().RequireOrg().WithCrmProblems();

        group.MapGet("/", async ([AsParameters] ListDealsParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(
                    new ListDeals(p.Limit, p.Cursor, p.Sort, p.Q, p.PipelineId, p.StageId, p.Status, p.CompanyId, p.ContactId, p.OwnerId,
                        p.MinAmount, p.MaxAmount, p.ExpectedCloseAfter, p.ExpectedCloseBefore, p.CreatedAfter, p.CreatedBefore),
                    ct)))
            .WithName("Deals_List")
            .WithSummary("List deals")
            .WithDescription("Returns one page of the organization's deals ({items,nextCursor}); pass nextCursor back as cursor for the "
                + "next page.")
            .Produces<Page<DealDto>>();

        group.MapPost("/", async ([FromBody] DealFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateDeal(body), ct), d => $"/api/v1/deals/{d.Id}", d => d.Version))
            .WithName("Deals_Create")
            .WithSummary("Create a deal")
            .WithDescription("Creates a deal and answers 201 with it, its Location and its ETag.")
            .Produces<DealDto>(StatusCodes.Status201Created);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetDeal(id), ct), d => d.Version))
            .WithName("Deals_Get")
            .WithSummary("Get a deal")
            .WithDescription("Returns one deal with its ETag (send it back as If-Match to update or delete).")
            .Produces<DealDto>();

        group.MapPatch("/{id:guid}",
            async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new UpdateDeal(id, patch, ifMatch), ct), d => d.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("Deals_Update")
            .WithSummary("Update a deal")
            .WithDescription("Applies a JSON merge patch (RFC 7396) to the deal; If-Match makes it conditional (412 when stale).")
            .Accepts<DealFields>("application/merge-patch+json", "application/json")
            .Produces<DealDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteDeal(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("Deals_Delete")
            .WithSummary("Delete a deal")
            .WithDescription("Deletes the deal; If-Match makes it conditional (412 when stale).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapPost("/{id:guid}/move",
            async (Guid id, [FromBody] MoveDealBody body, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new MoveDeal(id, body, ifMatch), ct), d => d.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("Deals_Move")
            .WithSummary("Move a deal to a stage")
            .WithDescription("Moves the deal to another stage of its pipeline; If-Match makes it conditional (412 when stale).")
            .Produces<DealDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapGet("/{id:guid}/history", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetDealHistory(id), ct)))
            .WithName("Deals_GetHistory")
            .WithSummary("Get a deal's stage history")
            .WithDescription("Returns one page of the deal's stage changes, oldest first.")
            .Produces<Page<DealStageChangeDto>>();

        group.MapPut("/{id:guid}/splits", async (Guid id, [FromBody] List<DealSplitInput> body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new SetDealSplits(id, body), ct)))
            .WithName("Deals_SetSplits")
            .WithSummary("Set a deal's revenue splits")
            .WithDescription("Replaces the deal's revenue splits; premium (revenue_splitting), 403 feature_disabled otherwise.")
            .Produces<IReadOnlyList<DealSplitDto>>();

        group.MapGet("/{id:guid}/splits", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListDealSplits(id), ct)))
            .WithName("Deals_ListSplits")
            .WithSummary("List a deal's revenue splits")
            .WithDescription("Returns the deal's revenue splits; premium (revenue_splitting), 403 feature_disabled otherwise.")
            .Produces<IReadOnlyList<DealSplitDto>>();

        return app;
    }

    public sealed record ListDealsParameters(
        int? Limit,
        string? Cursor,
        string? Sort,
        string? Q,
        Guid? PipelineId,
        Guid? StageId,
        string? Status,
        Guid? CompanyId,
        Guid? ContactId,
        Guid? OwnerId,
        long? MinAmount,
        long? MaxAmount,
        DateOnly? ExpectedCloseAfter,
        DateOnly? ExpectedCloseBefore,
        DateTimeOffset? CreatedAfter,
        DateTimeOffset? CreatedBefore);
}
