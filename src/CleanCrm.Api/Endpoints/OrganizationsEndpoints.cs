using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Fleet;
using CleanCrm.Application.Fleet.Commands.StartFleetMigration;
using CleanCrm.Application.Fleet.Queries.GetFleetMigration;
using CleanCrm.Application.Fleet.Queries.ListFleetMigrations;
using CleanCrm.Application.Organizations;
using CleanCrm.Application.Organizations.Commands.CreateOrganization;
using CleanCrm.Application.Organizations.Commands.DeleteOrganization;
using CleanCrm.Application.Organizations.Commands.MigrateOrganization;
using CleanCrm.Application.Organizations.Commands.MoveOrganization;
using CleanCrm.Application.Organizations.Commands.ResumeOrganization;
using CleanCrm.Application.Organizations.Commands.RetryProvisioning;
using CleanCrm.Application.Organizations.Commands.SignUp;
using CleanCrm.Application.Organizations.Commands.SuspendOrganization;
using CleanCrm.Application.Organizations.Queries.GetAdminOrganization;
using CleanCrm.Application.Organizations.Queries.GetProvisioningStatus;
using CleanCrm.Application.Organizations.Queries.ListAdminOrganizations;
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
            .WithName("Organizations_SignUp")
            .WithSummary("Sign up")
            .WithDescription("Creates a user account and its first organization; answers 202 while the organization's database is "
                + "provisioned (follow its provisioning status).")
            .AllowAnonymous()
            .Produces<OrganizationAccepted>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        var orgs = app.MapGroup("/api/v1/orgs").WithTags("Organizations").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        orgs.MapPost("/", async ([FromBody] CreateOrganizationFields body, IMediator mediator, CancellationToken ct) =>
                Accepted(await mediator.Send(new CreateOrganization(body), ct)))
            .WithName("Organizations_Create")
            .WithSummary("Create an organization")
            .WithDescription("Creates another organization for the signed-in user; answers 202 while its database is provisioned.")
            .Produces<OrganizationAccepted>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        orgs.MapGet("/{slug}/provisioning", async (string slug, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetProvisioningStatus(slug), ct)))
            .WithName("Organizations_GetStatus")
            .WithSummary("Get an organization's provisioning status")
            .WithDescription("Returns the provisioning state and steps of an organization by slug; poll it until the organization is "
                + "active.")
            .Produces<ProvisioningStatusDto>();

        var admin = app.MapGroup("/api/v1/admin/organizations").WithTags("Administration").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/", async (
                string? status,
                string? plan,
                Guid? server,
                string? q,
                bool? schemaBehind,
                bool? failedProvisioning,
                int? backupOlderThanHours,
                string? sort,
                string? cursor,
                int? limit,
                IMediator mediator,
                CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(
                    new ListAdminOrganizations(
                        status, plan, server, q, schemaBehind, failedProvisioning, backupOlderThanHours, sort, cursor, limit),
                    ct)))
            .WithName("Admin_ListOrganizations")
            .WithSummary("List organizations")
            .WithDescription("Platform admin: one keyset page of organizations, filtered by status, plan, server, text (name, slug or "
                + "an owner's email), schema behind the head, failed provisioning or no backup for N hours, and sorted by any column.")
            .Produces<Page<AdminOrganizationListItem>>()
            .ProducesValidationProblem();
        admin.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetAdminOrganization(id), ct)))
            .WithName("Admin_GetOrganization")
            .WithSummary("Get an organization")
            .WithDescription("Platform admin: one organization with its provisioning runs, members, last backup, usage, features and "
                + "limits.")
            .Produces<AdminOrganizationDetail>();
        admin.MapPost("/{id:guid}/migrate", async (Guid id, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new MigrateOrganization(id), ct);
                return result.IsSuccess
                    ? TypedResults.Accepted($"/api/v1/admin/migrations/{result.Value.JobId}", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("Admin_MigrateOrganization")
            .WithSummary("Migrate an organization")
            .WithDescription("Platform admin: queues a job that brings one active or suspended organization's database to the head "
                + "schema (202, the job); 409 when its status does not allow it or it is already at the head.")
            .Produces<FleetMigrationStatusDto>(StatusCodes.Status202Accepted);
        admin.MapPost("/{id:guid}/suspend", async (Guid id, [FromBody] AdminReasonFields? body, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new SuspendOrganization(id, body?.Reason), ct)))
            .WithName("Admin_SuspendOrganization")
            .WithSummary("Suspend an organization")
            .WithDescription("Platform admin: suspends an organization (its org-scoped endpoints answer 403 except billing). The optional "
                + "body {reason} is kept in the platform audit log.")
            .Produces<AdminOrganizationDto>()
            .ProducesValidationProblem();
        admin.MapPost("/{id:guid}/resume", async (Guid id, [FromBody] AdminReasonFields? body, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new ResumeOrganization(id, body?.Reason), ct)))
            .WithName("Admin_ResumeOrganization")
            .WithSummary("Resume an organization")
            .WithDescription("Platform admin: resumes a suspended organization. The optional body {reason} is kept in the platform audit "
                + "log.")
            .Produces<AdminOrganizationDto>()
            .ProducesValidationProblem();
        admin.MapPost("/{id:guid}/retry-provisioning", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new RetryProvisioning(id), ct)))
            .WithName("Admin_RetryProvisioning")
            .WithSummary("Retry provisioning")
            .WithDescription("Platform admin: retries the failed provisioning of an organization.")
            .Produces<AdminOrganizationDto>();
        admin.MapDelete("/{id:guid}", async (Guid id, [FromBody] AdminReasonFields? body, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new DeleteOrganization(id, body?.Reason), ct);
                return result.IsSuccess ? TypedResults.Accepted((string?)null, result.Value) : Problems.Result(result.Error!);
            })
            .WithName("Admin_DeleteOrganization")
            .WithSummary("Delete an organization")
            .WithDescription("Platform admin: starts deleting an organization and its database (202). The optional body {reason} is kept "
                + "in the platform audit log.")
            .Produces<AdminOrganizationDto>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem();
        admin.MapPost("/{id:guid}/move",
            async (Guid id, [FromBody] MoveOrganizationFields body, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new MoveOrganization(id, body), ct);
                return result.IsSuccess
                    ? TypedResults.Accepted($"/api/v1/admin/organizations/{id}", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("Admin_MoveOrganization")
            .WithSummary("Move an organization")
            .WithDescription("Platform admin: starts moving an organization's database to another server (202).")
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
            .WithName("Admin_StartFleetMigration")
            .WithSummary("Start a fleet migration")
            .WithDescription("Platform admin: starts migrating every organization database to the current schema (202).")
            .Produces<FleetMigrationStatusDto>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem();
        migrations.MapGet("/", async (int? limit, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListFleetMigrations(limit), ct)))
            .WithName("Admin_ListFleetMigrations")
            .WithSummary("List fleet migrations")
            .WithDescription("Platform admin: the most recent fleet and single-organization migration jobs, newest first.")
            .Produces<FleetMigrationListDto>()
            .ProducesValidationProblem();
        migrations.MapGet("/{jobId}", async (string jobId, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new GetFleetMigration(jobId), ct)))
            .WithName("Admin_GetFleetMigration")
            .WithSummary("Get a fleet migration")
            .WithDescription("Platform admin: returns the progress of a fleet migration job.")
            .Produces<FleetMigrationStatusDto>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static IResult Accepted(Application.Common.Results.Result<OrganizationAccepted> result) =>
        result.IsSuccess
            ? TypedResults.Accepted($"/api/v1/orgs/{result.Value.Slug}/provisioning", result.Value)
            : Problems.Result(result.Error!);
}
