using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Backups;
using CleanCrm.Application.Backups.Commands.ConfirmRestore;
using CleanCrm.Application.Backups.Commands.RestoreBackup;
using CleanCrm.Application.Backups.Commands.StartFleetBackup;
using CleanCrm.Application.Backups.Commands.StartOrganizationBackup;
using CleanCrm.Application.Backups.Commands.VerifyBackup;
using CleanCrm.Application.Backups.Queries.DownloadBackup;
using CleanCrm.Application.Backups.Queries.GetAdminBackup;
using CleanCrm.Application.Backups.Queries.GetOrganizationBackupAccessLog;
using CleanCrm.Application.Backups.Queries.GetRestore;
using CleanCrm.Application.Backups.Queries.ListAdminBackups;
using CleanCrm.Application.Backups.Queries.ListBackupAccessLog;
using CleanCrm.Application.Backups.Queries.ListBackups;
using CleanCrm.Application.Common.Paging;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>
/// Backups for owners and auditors and their administration (docs/API.md, "Backups and the audit log", "Platform administration").
/// </summary>
public static class BackupsEndpoints
{
    public const string ChecksumHeader = "X-Checksum-Sha256";

    public static IEndpointRouteBuilder MapBackups(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/backups").WithTags("Backups").RequireAuthorization().RequireOrg().WithCrmProblems();
        group.MapGet("/", async (int? limit, string? cursor, HttpContext http, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListBackups(limit, cursor, ClientAddress(http)), ct)))
            .WithName("Backups_List")
            .WithSummary("List backups")
            .WithDescription("Returns one page of the organization's backups.")
            .Produces<Page<BackupDto>>();
        group.MapPost("/{id:guid}/verify", async (Guid id, HttpContext http, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new VerifyBackup(id, ClientAddress(http)), ct)))
            .WithName("Backups_Verify")
            .WithSummary("Verify a backup")
            .WithDescription("Checks a backup's integrity and returns the result.")
            .Produces<BackupVerificationDto>()
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/{id:guid}/download", async (Guid id, HttpContext http, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new DownloadBackup(id, ClientAddress(http)), ct);
                if (!result.IsSuccess)
                {
                    return Problems.Result(result.Error!);
                }

                var download = result.Value;
                http.Response.Headers[ChecksumHeader] = download.Sha256;
                http.Response.ContentLength = download.Length;
                return TypedResults.Stream(download.Content, "application/octet-stream", download.FileName);
            })
            .WithName("Backups_Download")
            .WithSummary("Download a backup")
            .WithDescription("Streams the backup file; the checksum header carries its SHA-256. Every download is logged.")
            .Produces<Stream>(StatusCodes.Status200OK, "application/octet-stream")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/access-log", async (int? limit, string? cursor, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListBackupAccessLog(limit, cursor), ct)))
            .WithName("Backups_ListAccessLog")
            .WithSummary("List backup accesses")
            .WithDescription("Returns one page of who downloaded or verified the organization's backups.")
            .Produces<BackupAccessLogPage>();

        var admin = app.MapGroup("/api/v1/admin").WithTags("Administration").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/organizations/{id:guid}/backups", async (Guid id, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new StartOrganizationBackup(id), ct);
                return result.IsSuccess
                    ? TypedResults.Accepted($"/api/v1/admin/backups/{result.Value.Id}", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("Admin_StartOrganizationBackup")
            .WithSummary("Back up an organization")
            .WithDescription("Platform admin: starts a backup of one organization (202).")
            .Produces<AdminBackupDto>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/organizations/{id:guid}/backup-access-log",
            async (Guid id, int? limit, string? cursor, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetOrganizationBackupAccessLog(id, limit, cursor), ct)))
            .WithName("Admin_GetOrganizationBackupAccessLog")
            .WithSummary("Get an organization's backup accesses")
            .WithDescription("Platform admin: returns the backup access log of one organization.")
            .Produces<BackupAccessLogPage>();
        admin.MapPost("/backups", async (IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new StartFleetBackup(), ct);
                return result.IsSuccess
                    ? TypedResults.Accepted("/api/v1/admin/backups?status=queued", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("Admin_StartFleetBackup")
            .WithSummary("Back up every organization")
            .WithDescription("Platform admin: queues a backup of every organization (202).")
            .Produces<FleetBackupQueued>(StatusCodes.Status202Accepted);
        admin.MapGet("/backups",
            async (Guid? orgId, string? status, int? limit, string? cursor, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListAdminBackups(orgId, status, limit, cursor), ct)))
            .WithName("Admin_ListBackups")
            .WithSummary("List all backups")
            .WithDescription("Platform admin: returns one page of backups across organizations.")
            .Produces<Page<AdminBackupDto>>()
            .ProducesValidationProblem();
        admin.MapGet("/backups/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new GetAdminBackup(id), ct)))
            .WithName("Admin_GetBackup")
            .WithSummary("Get a backup")
            .WithDescription("Platform admin: returns one backup with its tables.")
            .Produces<AdminBackupDto>();
        admin.MapPost("/backups/{id:guid}/restore",
            async (Guid id, [FromBody] RestoreBackupFields body, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new RestoreBackup(id, body), ct);
                return result.IsSuccess
                    ? TypedResults.Accepted($"/api/v1/admin/restores/{result.Value.Id}", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("Admin_RestoreBackup")
            .WithSummary("Restore a backup")
            .WithDescription("Platform admin: starts restoring a backup (202); some modes need a confirmation.")
            .Produces<RestoreDto>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/restores/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new GetRestore(id), ct)))
            .WithName("Admin_GetRestore")
            .WithSummary("Get a restore")
            .WithDescription("Platform admin: returns the state of a restore.")
            .Produces<RestoreDto>();
        admin.MapPost("/restores/{id:guid}/confirm", async (Guid id, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new ConfirmRestore(id), ct)))
            .WithName("Admin_ConfirmRestore")
            .WithSummary("Confirm a restore")
            .WithDescription("Platform admin: confirms a restore that waits for it.")
            .Produces<RestoreDto>()
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static string? ClientAddress(HttpContext http) => http.Connection.RemoteIpAddress?.ToString();
}
