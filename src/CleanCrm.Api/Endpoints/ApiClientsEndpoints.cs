using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.ApiClients;
using CleanCrm.Application.ApiClients.Commands.CreateApiClient;
using CleanCrm.Application.ApiClients.Commands.DeleteApiClient;
using CleanCrm.Application.ApiClients.Queries.ListApiClients;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

public static class ApiClientsEndpoints
{
    public static IEndpointRouteBuilder MapApiClients(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/api-clients").WithTags("API clients").RequireAuthorization().RequireOrg().WithCrmProblems();
        group.MapPost("/", async ([FromBody] CreateApiClientFields body, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new CreateApiClient(body), ct);
                return result.IsSuccess
                    ? TypedResults.Created($"/api/v1/api-clients/{result.Value.ClientId}", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("ApiClients_Create")
            .WithSummary("Create an API client")
            .WithDescription("Creates an org-bound client-credentials client; the secret is returned once, in this response.")
            .Produces<CreatedApiClientDto>(StatusCodes.Status201Created);
        group.MapGet("/", async (IMediator mediator, CancellationToken ct) => HttpResults.Ok(await mediator.Send(new ListApiClients(), ct)))
            .WithName("ApiClients_List")
            .WithSummary("List API clients")
            .WithDescription("Returns the organization's API clients (never their secrets).")
            .Produces<ApiClientList>();
        group.MapDelete("/{clientId}", async (string clientId, IMediator mediator, CancellationToken ct) =>
            HttpResults.NoContent(await mediator.Send(new DeleteApiClient(clientId), ct)))
            .WithName("ApiClients_Delete")
            .WithSummary("Delete an API client")
            .WithDescription("Deletes an API client; its tokens stop working.")
            .Produces(StatusCodes.Status204NoContent);
        return app;
    }
}
