using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Meetings;
using CleanCrm.Application.Meetings.Commands.CreateMeeting;
using CleanCrm.Application.Meetings.Commands.DeleteMeeting;
using CleanCrm.Application.Meetings.Commands.SummarizeMeeting;
using CleanCrm.Application.Meetings.Commands.UpdateMeeting;
using CleanCrm.Application.Meetings.Queries.GetMeeting;
using CleanCrm.Application.Meetings.Queries.ListMeetings;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

public static class MeetingsEndpoints
{
    public static IEndpointRouteBuilder MapMeetings(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/meetings").WithTags("Meetings").RequireAuthorization().RequireOrg().WithCrmProblems();

        group.MapGet("/", async ([AsParameters] ListMeetingsParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListMeetings(p.Limit, p.Cursor, p.Sort, p.Q, p.CompanyId, p.DealId, p.ContactId,
                    p.StartsAfter, p.StartsBefore), ct)))
            .WithName("Meetings_List")
            .WithSummary("List meetings")
            .WithDescription("Returns one page of the organization's meetings ({items,nextCursor}); pass nextCursor back as cursor for "
                + "the next page.")
            .Produces<Page<MeetingDto>>();

        group.MapPost("/", async ([FromBody] MeetingFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateMeeting(body), ct), x => $"/api/v1/meetings/{x.Id}", x => x.Version))
            .WithName("Meetings_Create")
            .WithSummary("Create a meeting")
            .WithDescription("Creates a meeting and answers 201 with it, its Location and its ETag.")
            .Produces<MeetingDto>(StatusCodes.Status201Created);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetMeeting(id), ct), x => x.Version))
            .WithName("Meetings_Get")
            .WithSummary("Get a meeting")
            .WithDescription("Returns one meeting with its ETag (send it back as If-Match to update or delete).")
            .Produces<MeetingDto>();

        group.MapPatch("/{id:guid}",
            async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new UpdateMeeting(id, patch, ifMatch), ct), x => x.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("Meetings_Update")
            .WithSummary("Update a meeting")
            .WithDescription("Applies a JSON merge patch (RFC 7396) to the meeting; If-Match makes it conditional (412 when stale).")
            .Accepts<MeetingFields>("application/merge-patch+json", "application/json")
            .Produces<MeetingDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteMeeting(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("Meetings_Delete")
            .WithSummary("Delete a meeting")
            .WithDescription("Deletes the meeting; If-Match makes it conditional (412 when stale).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapPost("/{id:guid}/summary", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new SummarizeMeeting(id), ct)))
            .WithName("Meetings_Summarize")
            .WithSummary("Summarise a meeting with AI")
            .WithDescription("Generates the summary and action items of a meeting that has a transcript and no summary yet (feature "
                + "ai_copilot; tokens metered, 402 when used up; 503 ai_not_configured without a provider). With smart_tasks the "
                + "action items become tasks (origin smart). 409 when the meeting already has a summary or has no transcript.")
            .Produces<MeetingSummaryResult>()
            .ProducesProblem(StatusCodes.Status402PaymentRequired);

        return app;
    }

    public sealed record ListMeetingsParameters(
        int? Limit,
        string? Cursor,
        string? Sort,
        string? Q,
        Guid? CompanyId,
        Guid? DealId,
        Guid? ContactId,
        DateTimeOffset? StartsAfter,
        DateTimeOffset? StartsBefore);
}
