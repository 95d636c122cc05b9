using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Pipelines;
using CleanCrm.Application.Pipelines.Queries.GetPipeline;
using CleanCrm.Application.Pipelines.Queries.ListPipelines;
using Mediator;

namespace CleanCrm.Api.Endpoints;

public static class PipelinesEndpoints
{
    public static IEndpointRouteBuilder MapPipelines(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/pipelines").WithTags("Pipelines").RequireAuthorization().RequireOrg().WithCrmProblems();
        group.MapGet("/", async (IMediator mediator, CancellationToken ct) => HttpResults.Ok(await mediator.Send(new ListPipelines(), ct)))
            .WithName("Pipelines_List")
            .WithSummary("List pipelines")
            .WithDescription("Returns one page of the organization's deal pipelines with their stages.")
            .Produces<Page<PipelineDto>>();
        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new GetPipeline(id), ct)))
            .WithName("Pipelines_Get")
            .WithSummary("Get a pipeline")
            .WithDescription("Returns one pipeline with its stages.")
            .Produces<PipelineDto>();
        return app;
    }
}
