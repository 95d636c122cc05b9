using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.DatabaseServers;
using CleanCrm.Application.DatabaseServers.Commands.ActivateDatabaseServer;
using CleanCrm.Application.DatabaseServers.Commands.DrainDatabaseServer;
using CleanCrm.Application.DatabaseServers.Commands.RegisterDatabaseServer;
using CleanCrm.Application.DatabaseServers.Queries.GetDatabaseServer;
using CleanCrm.Application.DatabaseServers.Queries.ListDatabaseServers;
using CleanCrm.Application.Fleet.Queries.GetFleetOverview;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>The fleet overview and the database servers (docs/API.md, "Platform administration"; docs/OPERATIONS.md).</summary>
public static class FleetEndpoints
{
    public static IEndpointRouteBuilder MapFleet(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/v1/admin").WithTags("Administration").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        admin.MapGet("/overview", async (IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetFleetOverview(), ct)))
            .WithName("Admin_GetFleetOverview")
            .WithSummary("Get the fleet overview")
            .WithDescription("Platform admin: organizations per status, signups and provisioning failures in the last 24 hours, "
                + "organizations behind the head schema, the oldest latest backup and the database servers.")
            .Produces<FleetOverview>();

        var servers = admin.MapGroup("/database-servers");
        servers.MapGet("/", async (IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListDatabaseServers(), ct)))
            .WithName("Admin_ListDatabaseServers")
            .WithSummary("List database servers")
            .WithDescription("Platform admin: every registered database server with its tenants, capacity and status.")
            .Produces<DatabaseServerListDto>();
        servers.MapPost("/", async ([FromBody] RegisterDatabaseServer body, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(body, ct);
                return result.IsSuccess
                    ? TypedResults.Created($"/api/v1/admin/database-servers/{result.Value.Id}", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("Admin_RegisterDatabaseServer")
            .WithSummary("Register a database server")
            .WithDescription("Platform admin: tests a connection with the admin credentials, then registers the server (201); the "
                + "password is kept in the secret store only. 422 database_server_unreachable when the connection fails.")
            .Produces<DatabaseServerDto>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        servers.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetDatabaseServer(id), ct)))
            .WithName("Admin_GetDatabaseServer")
            .WithSummary("Get a database server")
            .WithDescription("Platform admin: one registered database server with its tenants and status.")
            .Produces<DatabaseServerDto>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        servers.MapPost("/{id:guid}/drain", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new DrainDatabaseServer(id), ct)))
            .WithName("Admin_DrainDatabaseServer")
            .WithSummary("Drain a database server")
            .WithDescription("Platform admin: the server keeps its tenants but takes no new ones; provisioning, moves and restores no "
                + "longer choose it.")
            .Produces<DatabaseServerDto>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        servers.MapPost("/{id:guid}/activate", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ActivateDatabaseServer(id), ct)))
            .WithName("Admin_ActivateDatabaseServer")
            .WithSummary("Activate a database server")
            .WithDescription("Platform admin: puts a drained server back into placement.")
            .Produces<DatabaseServerDto>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }
}
