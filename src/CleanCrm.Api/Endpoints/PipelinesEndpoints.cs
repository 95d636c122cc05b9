using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Pipelines;
using CleanCrm.Application.Pipelines.Commands.AddStage;
using CleanCrm.Application.Pipelines.Commands.CreatePipeline;
using CleanCrm.Application.Pipelines.Commands.DeletePipeline;
using CleanCrm.Application.Pipelines.Commands.DeleteStage;
using CleanCrm.Application.Pipelines.Commands.ReorderStages;
using CleanCrm.Application.Pipelines.Commands.UpdatePipeline;
using CleanCrm.Application.Pipelines.Commands.UpdateStage;
using CleanCrm.Application.Pipelines.Queries.GetPipeline;
using CleanCrm.Application.Pipelines.Queries.ListPipelines;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>Pipelines and their stages (docs/API.md "Pipelines"); stage writes are conditional on the pipeline's ETag.</summary>
public static class PipelinesEndpoints
{
    private const string StageWriteNote =
        " If-Match takes the pipeline's ETag (412 when stale); the answer is the whole pipeline with its new ETag.";

    public static IEndpointRouteBuilder MapPipelines(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/pipelines").WithTags("Pipelines").RequireAuthorization().RequireOrg().WithCrmProblems();
        group.MapGet("/", async (IMediator mediator, CancellationToken ct) => HttpResults.Ok(await mediator.Send(new ListPipelines(), ct)))
            .WithName("Pipelines_List")
            .WithSummary("List pipelines")
            .WithDescription("Returns one page of the organization's deal pipelines with their stages.")
            .Produces<Page<PipelineDto>>();
        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
            HttpResults.OkWithETag(await mediator.Send(new GetPipeline(id), ct), x => x.Version))
            .WithName("Pipelines_Get")
            .WithSummary("Get a pipeline")
            .WithDescription(
                "Returns one pipeline with its stages and its ETag (send it back as If-Match to change the pipeline or its stages).")
            .Produces<PipelineDto>();

        group.MapPost("/", async ([FromBody] CreatePipelineBody body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreatePipeline(body), ct), x => $"/api/v1/pipelines/{x.Id}", x => x.Version))
            .WithName("Pipelines_Create")
            .WithSummary("Create a pipeline")
            .WithDescription("Creates a pipeline with its stages in the given order (at least one open stage; owners and admins). "
                + "isDefault: true makes it the default, taking the flag from the previous default.")
            .Produces<PipelineDto>(StatusCodes.Status201Created);

        group.MapPatch("/{id:guid}", async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator,
                CancellationToken ct) => HttpResults.TryReadIfMatch(request, out var ifMatch)
                ? HttpResults.OkWithETag(await mediator.Send(new UpdatePipeline(id, patch, ifMatch), ct), x => x.Version)
                : HttpResults.InvalidIfMatch())
            .WithName("Pipelines_Update")
            .WithSummary("Rename a pipeline or make it the default")
            .WithDescription("JSON merge patch of name and isDefault; the default cannot be unset, only given to another pipeline (409). "
                + "If-Match makes it conditional (412 when stale).")
            .Accepts<PipelineFields>("application/merge-patch+json", "application/json")
            .Produces<PipelineDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, Guid? targetPipelineId, HttpRequest request, IMediator mediator,
                CancellationToken ct) => HttpResults.TryReadIfMatch(request, out var ifMatch)
                ? HttpResults.NoContent(await mediator.Send(new DeletePipeline(id, ifMatch, targetPipelineId), ct))
                : HttpResults.InvalidIfMatch())
            .WithName("Pipelines_Delete")
            .WithSummary("Delete a pipeline")
            .WithDescription("Deletes a pipeline that is not the default. Its open deals move to the first open stage of "
                + "targetPipelineId (required when it holds open deals, else 409); closed deals keep their pipeline.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapPost("/{id:guid}/stages", async (Guid id, [FromBody] PipelineStageBody body, HttpRequest request, IMediator mediator,
                CancellationToken ct) => HttpResults.TryReadIfMatch(request, out var ifMatch)
                ? HttpResults.Created(
                    await mediator.Send(new AddStage(id, body, ifMatch), ct), x => $"/api/v1/pipelines/{x.Id}", x => x.Version)
                : HttpResults.InvalidIfMatch())
            .WithName("Pipelines_AddStage")
            .WithSummary("Add a stage")
            .WithDescription("Adds a stage {name, probability, kind} at position (0-based, default last), moving later stages down; "
                + "answers 201 with the pipeline." + StageWriteNote)
            .Produces<PipelineDto>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapPatch("/{id:guid}/stages/{stageId:guid}", async (Guid id, Guid stageId, [FromBody] JsonElement patch, HttpRequest request,
                IMediator mediator, CancellationToken ct) => HttpResults.TryReadIfMatch(request, out var ifMatch)
                ? HttpResults.OkWithETag(await mediator.Send(new UpdateStage(id, stageId, patch, ifMatch), ct), x => x.Version)
                : HttpResults.InvalidIfMatch())
            .WithName("Pipelines_UpdateStage")
            .WithSummary("Change a stage")
            .WithDescription("JSON merge patch of a stage's name, probability and kind; the kind of a stage holding deals cannot "
                + "change (409)." + StageWriteNote)
            .Accepts<PipelineStageFields>("application/merge-patch+json", "application/json")
            .Produces<PipelineDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}/stages/{stageId:guid}", async (Guid id, Guid stageId, Guid? targetStageId, HttpRequest request,
                IMediator mediator, CancellationToken ct) => HttpResults.TryReadIfMatch(request, out var ifMatch)
                ? HttpResults.OkWithETag(await mediator.Send(new DeleteStage(id, stageId, ifMatch, targetStageId), ct), x => x.Version)
                : HttpResults.InvalidIfMatch())
            .WithName("Pipelines_DeleteStage")
            .WithSummary("Delete a stage")
            .WithDescription("Deletes a stage; when it holds deals, targetStageId (another stage of the same pipeline and kind) "
                + "receives them, each move in the deal's stage history (else 409). A pipeline keeps at least one open stage."
                + StageWriteNote)
            .Produces<PipelineDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapPut("/{id:guid}/stages/order", async (Guid id, [FromBody] StageOrderBody body, HttpRequest request, IMediator mediator,
                CancellationToken ct) => HttpResults.TryReadIfMatch(request, out var ifMatch)
                ? HttpResults.OkWithETag(await mediator.Send(new ReorderStages(id, body, ifMatch), ct), x => x.Version)
                : HttpResults.InvalidIfMatch())
            .WithName("Pipelines_ReorderStages")
            .WithSummary("Reorder the stages")
            .WithDescription("Puts the stages in the order of stageIds, which lists every stage exactly once." + StageWriteNote)
            .Produces<PipelineDto>()
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);
        return app;
    }
}
