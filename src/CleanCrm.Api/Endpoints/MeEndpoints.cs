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
            .WithName("Me_Get")
            .WithSummary("Get the signed-in user")
            .WithDescription("Returns the caller's user account and the organizations they belong to, with their role in each.")
            .RequireAuthorization()
            .Produces<MeDto>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }
}
