using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Activities;
using CleanCrm.Application.Activities.Commands.CreateActivity;
using CleanCrm.Application.Activities.Commands.DeleteActivity;
using CleanCrm.Application.Activities.Commands.UpdateActivity;
using CleanCrm.Application.Activities.Queries.GetActivity;
using CleanCrm.Application.Activities.Queries.ListActivities;
using CleanCrm.Application.Common.Paging;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

public static class ActivitiesEndpoints
{
    public static IEndpointRouteBuilder MapActivities(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/activities").WithTags("Activities").RequireAuthorization().RequireOrg().WithCrmProblems();

        group.MapGet("/", async ([AsParameters] ListActivitiesParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListActivities(p.Limit, p.Cursor, p.Sort, p.Q, p.Type, p.Source, p.ActorId,
                    p.CompanyId, p.ContactId, p.DealId, p.OccurredAfter, p.OccurredBefore), ct)))
            .WithName("Activities_List")
            .WithSummary("List activities")
            .WithDescription("Returns one page of the organization's activities ({items,nextCursor}); pass nextCursor back as cursor "
                + "for the next page.")
            .Produces<Page<ActivityDto>>();

        group.MapPost("/", async ([FromBody] ActivityFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateActivity(body), ct), x => $"/api/v1/activities/{x.Id}", x => x.Version))
            .WithName("Activities_Create")
            .WithSummary("Create a activity")
            .WithDescription("Creates a activity and answers 201 with it, its Location and its ETag.")
            .Produces<ActivityDto>(StatusCodes.Status201Created);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetActivity(id), ct), x => x.Version))
            .WithName("Activities_Get")
            .WithSummary("Get a activity")
            .WithDescription("Returns one activity with its ETag (send it back as If-Match to update or delete).")
            .Produces<ActivityDto>();

        group.MapPatch("/{id:guid}",
            async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new UpdateActivity(id, patch, ifMatch), ct), x => x.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("Activities_Update")
            .WithSummary("Update a activity")
            .WithDescription("Applies a JSON merge patch (RFC 7396) to the activity; If-Match makes it conditional (412 when stale).")
            .Accepts<ActivityFields>("application/merge-patch+json", "application/json")
            .Produces<ActivityDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteActivity(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("Activities_Delete")
            .WithSummary("Delete a activity")
            .WithDescription("Deletes the activity; If-Match makes it conditional (412 when stale).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        return app;
    }

    public sealed record ListActivitiesParameters(
        int? Limit,
        string? Cursor,
        string? Sort,
        string? Q,
        string? Type,
        string? Source,
        Guid? ActorId,
        Guid? CompanyId,
        Guid? ContactId,
        Guid? DealId,
        DateTimeOffset? OccurredAfter,
        DateTimeOffset? OccurredBefore);
}
