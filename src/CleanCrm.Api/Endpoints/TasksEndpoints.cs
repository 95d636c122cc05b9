using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Tasks;
using CleanCrm.Application.Tasks.Commands.CreateTask;
using CleanCrm.Application.Tasks.Commands.DeleteTask;
using CleanCrm.Application.Tasks.Commands.UpdateTask;
using CleanCrm.Application.Tasks.Queries.GetTask;
using CleanCrm.Application.Tasks.Queries.ListTasks;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

public static class TasksEndpoints
{
    public static IEndpointRouteBuilder MapTasks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/tasks").WithTags("Tasks").RequireAuthorization().RequireOrg().WithCrmProblems();

        group.MapGet("/", async ([AsParameters] ListTasksParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListTasks(p.Limit, p.Cursor, p.Sort, p.Q, p.Status, p.Priority, p.AssigneeId,
                    p.CompanyId, p.ContactId, p.DealId, p.DueAfter, p.DueBefore), ct)))
            .WithName("Tasks_List")
            .WithSummary("List tasks")
            .WithDescription("Returns one page of the organization's tasks ({items,nextCursor}); pass nextCursor back as cursor for the "
                + "next page.")
            .Produces<Page<TaskDto>>();

        group.MapPost("/", async ([FromBody] TaskFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateTask(body), ct), x => $"/api/v1/tasks/{x.Id}", x => x.Version))
            .WithName("Tasks_Create")
            .WithSummary("Create a task")
            .WithDescription("Creates a task and answers 201 with it, its Location and its ETag.")
            .Produces<TaskDto>(StatusCodes.Status201Created);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetTask(id), ct), x => x.Version))
            .WithName("Tasks_Get")
            .WithSummary("Get a task")
            .WithDescription("Returns one task with its ETag (send it back as If-Match to update or delete).")
            .Produces<TaskDto>();

        group.MapPatch("/{id:guid}",
            async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new UpdateTask(id, patch, ifMatch), ct), x => x.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("Tasks_Update")
            .WithSummary("Update a task")
            .WithDescription("Applies a JSON merge patch (RFC 7396) to the task; If-Match makes it conditional (412 when stale).")
            .Accepts<TaskFields>("application/merge-patch+json", "application/json")
            .Produces<TaskDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteTask(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("Tasks_Delete")
            .WithSummary("Delete a task")
            .WithDescription("Deletes the task; If-Match makes it conditional (412 when stale).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        return app;
    }

    public sealed record ListTasksParameters(
        int? Limit,
        string? Cursor,
        string? Sort,
        string? Q,
        string? Status,
        string? Priority,
        Guid? AssigneeId,
        Guid? CompanyId,
        Guid? ContactId,
        Guid? DealId,
        DateTimeOffset? DueAfter,
        DateTimeOffset? DueBefore);
}
