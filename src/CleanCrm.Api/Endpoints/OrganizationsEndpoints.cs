using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.Fleet;
using CleanCrm.Application.Fleet.Commands.StartFleetMigration;
using CleanCrm.Application.Fleet.Queries.GetFleetMigration;
using CleanCrm.Application.Organizations;
using CleanCrm.Application.Organizations.Commands.CreateOrganization;
using CleanCrm.Application.Organizations.Commands.DeleteOrganization;
using CleanCrm.Application.Organizations.Commands.MoveOrganization;
using CleanCrm.Application.Organizations.Commands.ResumeOrganization;
using CleanCrm.Application.Organizations.Commands.RetryProvisioning;
using CleanCrm.Application.Organizations.Commands.SignUp;
using CleanCrm.Application.Organizations.Commands.SuspendOrganization;
using CleanCrm.Application.Organizations.Queries.GetProvisioningStatus;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>
/// Signup, organizations and their provisioning status, and the admin lifecycle (docs/API.md, "Identity and organizations", "Platform
/// administration").
/// </summary>
public static class OrganizationsEndpoints
{
    public static IEndpointRouteBuilder MapOrganizations(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/signup", async ([FromBody] SignUpFields body, IMediator mediator, CancellationToken ct) =>
                Accepted(await mediator.Send(new SignUp(body), ct)))
            .WithTags("Organizations")
            .WithName("SignUp")
            .AllowAnonymous()
            .Produces<OrganizationAccepted>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        var orgs = app.MapGroup("/api/v1/orgs").WithTags("Organizations").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        orgs.MapPost("/", async ([FromBody] CreateOrganizationFields body, IMediator mediator, CancellationToken ct) =>
                Accepted(await mediator.Send(new CreateOrganization(body), ct)))
            .WithName("CreateOrganization")
            .Produces<OrganizationAccepted>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        orgs.MapGet("/{slug}/provisioning", async (string slug, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetProvisioningStatus(slug), ct)))
            .WithName("GetProvisioningStatus")
            .Produces<ProvisioningStatusDto>();

        var admin = app.MapGroup("/api/v1/admin/organizations").WithTags("Administration").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapPost("/{id:guid}/suspend", async (Guid id, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new SuspendOrganization(id), ct)))
            .WithName("SuspendOrganization")
            .Produces<AdminOrganizationDto>();
        admin.MapPost("/{id:guid}/resume", async (Guid id, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new ResumeOrganization(id), ct)))
            .WithName("ResumeOrganization")
            .Produces<AdminOrganizationDto>();
        admin.MapPost("/{id:guid}/retry-provisioning", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new RetryProvisioning(id), ct)))
            .WithName("RetryProvisioning")
            .Produces<AdminOrganizationDto>();
        admin.MapDelete("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new DeleteOrganization(id), ct);
                return result.IsSuccess ? TypedResults.Accepted((string?)null, result.Value) : Problems.Result(result.Error!);
            })
            .WithName("DeleteOrganization")
            .Produces<AdminOrganizationDto>(StatusCodes.Status202Accepted);
        admin.MapPost("/{id:guid}/move",
            async (Guid id, [FromBody] MoveOrganizationFields body, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new MoveOrganization(id, body), ct);
                return result.IsSuccess
                    ? TypedResults.Accepted($"/api/v1/admin/organizations/{id}", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("MoveOrganization")
            .ProducesValidationProblem()
            .Produces<AdminOrganizationDto>(StatusCodes.Status202Accepted);
        var migrations = app.MapGroup("/api/v1/admin/migrations").WithTags("Administration").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        migrations.MapPost("/", async ([FromBody] StartFleetMigrationFields? body, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new StartFleetMigration(body ?? new StartFleetMigrationFields()), ct);
                return result.IsSuccess
                    ? TypedResults.Accepted($"/api/v1/admin/migrations/{result.Value.JobId}", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("StartFleetMigration")
            .Produces<FleetMigrationStatusDto>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem();
        migrations.MapGet("/{jobId}", async (string jobId, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new GetFleetMigration(jobId), ct)))
            .WithName("GetFleetMigration")
            .Produces<FleetMigrationStatusDto>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static IResult Accepted(Application.Common.Results.Result<OrganizationAccepted> result) =>
        result.IsSuccess
            ? TypedResults.Accepted($"/api/v1/orgs/{result.Value.Slug}/provisioning", result.Value)
            : Problems.Result(result.Error!);
}
