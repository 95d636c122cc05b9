using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.CalendarEvents;
using CleanCrm.Application.CalendarEvents.Commands.CreateCalendarEvent;
using CleanCrm.Application.CalendarEvents.Commands.DeleteCalendarEvent;
using CleanCrm.Application.CalendarEvents.Commands.UpdateCalendarEvent;
using CleanCrm.Application.CalendarEvents.Queries.GetCalendarEvent;
using CleanCrm.Application.CalendarEvents.Queries.ListCalendarEvents;
using CleanCrm.Application.Common.Paging;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

public static class CalendarEventsEndpoints
{
    public static IEndpointRouteBuilder MapCalendarEvents(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/calendar-events").WithTags("Calendar events").RequireAuthorization().RequireOrg()
            .WithCrmProblems();

        group.MapGet("/", async ([AsParameters] ListCalendarEventsParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListCalendarEvents(p.Limit, p.Cursor, p.Sort, p.Q, p.OwnerId, p.MeetingId,
                    p.CompanyId, p.ContactId, p.DealId, p.StartsAfter, p.StartsBefore), ct)))
            .WithName("CalendarEvents_List")
            .WithSummary("List calendar events")
            .WithDescription("Returns one page of the organization's calendar events ({items,nextCursor}); pass nextCursor back as "
                + "cursor for the next page.")
            .Produces<Page<CalendarEventDto>>();

        group.MapPost("/", async ([FromBody] CalendarEventFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateCalendarEvent(body), ct), x => $"/api/v1/calendar-events/{x.Id}",
                    x => x.Version))
            .WithName("CalendarEvents_Create")
            .WithSummary("Create a calendar event")
            .WithDescription("Creates a calendar event and answers 201 with it, its Location and its ETag.")
            .Produces<CalendarEventDto>(StatusCodes.Status201Created);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetCalendarEvent(id), ct), x => x.Version))
            .WithName("CalendarEvents_Get")
            .WithSummary("Get a calendar event")
            .WithDescription("Returns one calendar event with its ETag (send it back as If-Match to update or delete).")
            .Produces<CalendarEventDto>();

        group.MapPatch("/{id:guid}",
            async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new UpdateCalendarEvent(id, patch, ifMatch), ct), x => x.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("CalendarEvents_Update")
            .WithSummary("Update a calendar event")
            .WithDescription("Applies a JSON merge patch (RFC 7396) to the calendar event; If-Match makes it conditional (412 when stale).")
            .Accepts<CalendarEventFields>("application/merge-patch+json", "application/json")
            .Produces<CalendarEventDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteCalendarEvent(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("CalendarEvents_Delete")
            .WithSummary("Delete a calendar event")
            .WithDescription("Deletes the calendar event; If-Match makes it conditional (412 when stale).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        return app;
    }

    public sealed record ListCalendarEventsParameters(
        int? Limit,
        string? Cursor,
        string? Sort,
        string? Q,
        Guid? OwnerId,
        Guid? MeetingId,
        Guid? CompanyId,
        Guid? ContactId,
        Guid? DealId,
        DateTimeOffset? StartsAfter,
        DateTimeOffset? StartsBefore);
}
