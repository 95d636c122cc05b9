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
            .WithName("ListCalendarEvents")
            .Produces<Page<CalendarEventDto>>();

        group.MapPost("/", async ([FromBody] CalendarEventFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateCalendarEvent(body), ct), x => $"/api/v1/calendar-events/{x.Id}",
                    x => x.Version))
            .WithName("CreateCalendarEvent")
            .Produces<CalendarEventDto>(StatusCodes.Status201Created);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetCalendarEvent(id), ct), x => x.Version))
            .WithName("GetCalendarEvent")
            .Produces<CalendarEventDto>();

        group.MapPatch("/{id:guid}",
            async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new UpdateCalendarEvent(id, patch, ifMatch), ct), x => x.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("UpdateCalendarEvent")
            .Accepts<CalendarEventFields>("application/merge-patch+json", "application/json")
            .Produces<CalendarEventDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteCalendarEvent(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("DeleteCalendarEvent")
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
