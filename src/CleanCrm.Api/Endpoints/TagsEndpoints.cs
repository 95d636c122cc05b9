using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Tags;
using CleanCrm.Application.Tags.Commands.CreateTag;
using CleanCrm.Application.Tags.Commands.DeleteTag;
using CleanCrm.Application.Tags.Commands.UpdateTag;
using CleanCrm.Application.Tags.Queries.GetTag;
using CleanCrm.Application.Tags.Queries.ListTags;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

public static class TagsEndpoints
{
    public static IEndpointRouteBuilder MapTags(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/tags").WithTags("Tags").RequireAuthorization().RequireOrg().WithCrmProblems();

        group.MapGet("/", async ([AsParameters] ListTagsParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListTags(p.Limit, p.Cursor, p.Sort, p.Q), ct)))
            .WithName("Tags_List")
            .WithSummary("List tags")
            .WithDescription("Returns one page of the organization's tags ({items,nextCursor}); pass nextCursor back as cursor for the "
                + "next page.")
            .Produces<Page<TagDto>>();

        group.MapPost("/", async ([FromBody] TagFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateTag(body), ct), x => $"/api/v1/tags/{x.Id}", x => x.Version))
            .WithName("Tags_Create")
            .WithSummary("Create a tag")
            .WithDescription("Creates a tag and answers 201 with it, its Location and its ETag.")
            .Produces<TagDto>(StatusCodes.Status201Created);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetTag(id), ct), x => x.Version))
            .WithName("Tags_Get")
            .WithSummary("Get a tag")
            .WithDescription("Returns one tag with its ETag (send it back as If-Match to update or delete).")
            .Produces<TagDto>();

        group.MapPatch("/{id:guid}",
            async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new UpdateTag(id, patch, ifMatch), ct), x => x.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("Tags_Update")
            .WithSummary("Update a tag")
            .WithDescription("Applies a JSON merge patch (RFC 7396) to the tag; If-Match makes it conditional (412 when stale).")
            .Accepts<TagFields>("application/merge-patch+json", "application/json")
            .Produces<TagDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteTag(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("Tags_Delete")
            .WithSummary("Delete a tag")
            .WithDescription("Deletes the tag; If-Match makes it conditional (412 when stale).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        return app;
    }

    public sealed record ListTagsParameters(
        int? Limit,
        string? Cursor,
        string? Sort,
        string? Q);
}
