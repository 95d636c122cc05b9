using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.Me.Queries.GetMe;
using Mediator;

namespace CleanCrm.Api.Endpoints;

public static class MeEndpoints
{
    public static IEndpointRouteBuilder MapMe(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/me", async (IMediator mediator, CancellationToken ct) => HttpResults.Ok(await mediator.Send(new GetMe(), ct)))
            .WithTags("Identity")
            .WithName("GetMe")
            .RequireAuthorization()
            .Produces<MeDto>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }
}
