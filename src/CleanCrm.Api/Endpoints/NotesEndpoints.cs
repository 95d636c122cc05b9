using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Notes;
using CleanCrm.Application.Notes.Commands.CreateNote;
using CleanCrm.Application.Notes.Commands.DeleteNote;
using CleanCrm.Application.Notes.Commands.UpdateNote;
using CleanCrm.Application.Notes.Queries.GetNote;
using CleanCrm.Application.Notes.Queries.ListNotes;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

public static class NotesEndpoints
{
    public static IEndpointRouteBuilder MapNotes(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/notes").WithTags("Notes").RequireAuthorization().RequireOrg().WithCrmProblems();

        group.MapGet("/", async ([AsParameters] ListNotesParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListNotes(p.Limit, p.Cursor, p.Sort, p.Q, p.Pinned, p.CompanyId, p.ContactId,
                    p.DealId, p.CreatedAfter, p.CreatedBefore), ct)))
            .WithName("Notes_List")
            .WithSummary("List notes")
            .WithDescription("Returns one page of the organization's notes ({items,nextCursor}); pass nextCursor back as cursor for the "
                + "next page.")
            .Produces<Page<NoteDto>>();

        group.MapPost("/", async ([FromBody] NoteFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateNote(body), ct), x => $"/api/v1/notes/{x.Id}", x => x.Version))
            .WithName("Notes_Create")
            .WithSummary("Create a note")
            .WithDescription("Creates a note and answers 201 with it, its Location and its ETag.")
            .Produces<NoteDto>(StatusCodes.Status201Created);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetNote(id), ct), x => x.Version))
            .WithName("Notes_Get")
            .WithSummary("Get a note")
            .WithDescription("Returns one note with its ETag (send it back as If-Match to update or delete).")
            .Produces<NoteDto>();

        group.MapPatch("/{id:guid}",
            async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new UpdateNote(id, patch, ifMatch), ct), x => x.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("Notes_Update")
            .WithSummary("Update a note")
            .WithDescription("Applies a JSON merge patch (RFC 7396) to the note; If-Match makes it conditional (412 when stale).")
            .Accepts<NoteFields>("application/merge-patch+json", "application/json")
            .Produces<NoteDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteNote(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("Notes_Delete")
            .WithSummary("Delete a note")
            .WithDescription("Deletes the note; If-Match makes it conditional (412 when stale).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        return app;
    }

    public sealed record ListNotesParameters(
        int? Limit,
        string? Cursor,
        string? Sort,
        string? Q,
        bool? Pinned,
        Guid? CompanyId,
        Guid? ContactId,
        Guid? DealId,
        DateTimeOffset? CreatedAfter,
        DateTimeOffset? CreatedBefore);
}
