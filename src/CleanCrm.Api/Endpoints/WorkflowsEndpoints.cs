using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Workflows;
using CleanCrm.Application.Workflows.Commands.CreateWorkflow;
using CleanCrm.Application.Workflows.Commands.DeleteWorkflow;
using CleanCrm.Application.Workflows.Commands.UpdateWorkflow;
using CleanCrm.Application.Workflows.Queries.GetWorkflow;
using CleanCrm.Application.Workflows.Queries.ListWorkflowRuns;
using CleanCrm.Application.Workflows.Queries.ListWorkflows;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>Workflows: a trigger, conditions and ordered actions run from the organization's domain events (docs/WORKFLOWS.md).</summary>
public static class WorkflowsEndpoints
{
    public static IEndpointRouteBuilder MapWorkflows(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/workflows").WithTags("Workflows").RequireAuthorization().RequireOrg().WithCrmProblems();

        group.MapGet("/", async ([AsParameters] ListWorkflowsParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListWorkflows(p.Limit, p.Cursor, p.Sort, p.Q), ct)))
            .WithName("Workflows_List")
            .WithSummary("List workflows")
            .WithDescription("CRM read, feature workflows: one page of the organization's workflows ({items,nextCursor}); sort name, "
                + "createdAt (default) or updatedAt; q searches the name.")
            .Produces<Page<WorkflowDto>>();

        group.MapPost("/", async ([FromBody] WorkflowFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateWorkflow(body), ct), x => $"/api/v1/workflows/{x.Id}", x => x.Version))
            .WithName("Workflows_Create")
            .WithSummary("Create a workflow")
            .WithDescription("Owner/admin, feature workflows: a trigger {event, stageId?}, conditions [{field, operator, value}] and "
                + "ordered actions [{type, ...}]; answers 201 with the workflow, its Location and ETag. An unknown event, field, "
                + "operator or action type, or an id of no live stage, pipeline, member, tag or webhook endpoint is a 400 naming it.")
            .Produces<WorkflowDto>(StatusCodes.Status201Created);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetWorkflow(id), ct), x => x.Version))
            .WithName("Workflows_Get")
            .WithSummary("Get a workflow")
            .WithDescription("CRM read, feature workflows: one workflow with its ETag.")
            .Produces<WorkflowDto>();

        group.MapPatch("/{id:guid}",
                async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                    HttpResults.TryReadIfMatch(request, out var ifMatch)
                        ? HttpResults.OkWithETag(await mediator.Send(new UpdateWorkflow(id, patch, ifMatch), ct), x => x.Version)
                        : HttpResults.InvalidIfMatch())
            .WithName("Workflows_Update")
            .WithSummary("Update a workflow")
            .WithDescription("Owner/admin, feature workflows: JSON merge patch of name, enabled, trigger, conditions and actions "
                + "(arrays are replaced whole), checked as on create; If-Match makes it conditional (412 when stale).")
            .Accepts<WorkflowFields>("application/merge-patch+json", "application/json")
            .Produces<WorkflowDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteWorkflow(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("Workflows_Delete")
            .WithSummary("Delete a workflow")
            .WithDescription("Owner/admin, feature workflows: the workflow starts no more runs; If-Match makes it conditional.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapGet("/{id:guid}/runs",
                async (Guid id, [AsParameters] ListRunsParameters p, IMediator mediator, CancellationToken ct) =>
                    HttpResults.Ok(await mediator.Send(new ListWorkflowRuns(id, p.Limit, p.Cursor), ct)))
            .WithName("Workflows_ListRuns")
            .WithSummary("List a workflow's runs")
            .WithDescription("CRM read, feature workflows: the runs, newest first ({items,nextCursor}), each with its status (pending, "
                + "running, succeeded, failed, skipped), error, event, causation depth, attempts, timings and per-action results.")
            .Produces<Page<WorkflowRunDto>>();

        return app;
    }

    public sealed record ListWorkflowsParameters(int? Limit, string? Cursor, string? Sort, string? Q);

    public sealed record ListRunsParameters(int? Limit, string? Cursor);
}
