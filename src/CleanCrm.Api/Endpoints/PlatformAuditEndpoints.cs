using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.PlatformAudit;
using CleanCrm.Application.PlatformAudit.Queries.ListPlatformAuditLog;
using CleanCrm.Application.Support;
using CleanCrm.Application.Support.Commands.RevokeSupportSession;
using CleanCrm.Application.Support.Commands.StartSupportSession;
using CleanCrm.Application.Support.Queries.BrowseSupportSession;
using CleanCrm.Application.Support.Queries.ListSupportSessions;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>The optional body of suspend, resume and delete: why the admin did it (kept in the platform audit log).</summary>
public sealed record AdminReasonFields
{
    /// <summary>At most 500 characters.</summary>
    public string? Reason { get; init; }
}

/// <summary>The body that opens a support session.</summary>
public sealed record StartSupportSessionFields
{
    /// <summary>Why access is needed (required, at most 500 characters); the organization's owners read it.</summary>
    public string? Reason { get; init; }

    /// <summary>How long the session lasts, 1 to 60 minutes.</summary>
    public int? Minutes { get; init; }
}

/// <summary>
/// The platform audit log and support sessions (docs/API.md, "Platform administration"; docs/SECURITY.md, "Platform audit
/// log", "Support access").
/// </summary>
public static class PlatformAuditEndpoints
{
    public static IEndpointRouteBuilder MapPlatformAuditAndSupport(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/v1/admin").WithTags("Administration").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        admin.MapGet("/audit-log", async ([AsParameters] PlatformAuditLogParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(
                    new ListPlatformAuditLog(p.OrganizationId, p.ActorUserId, p.Action, p.From, p.To, p.Cursor, p.Limit), ct)))
            .WithName("Admin_ListAuditLog")
            .WithSummary("List the platform audit log")
            .WithDescription("Platform admin: returns one page of platform-admin actions (who, when, from where, what, on which "
                + "organization, why, outcome), newest first. Filters: organizationId, actorUserId, action (exact, or a prefix such "
                + "as organization), from (inclusive), to (exclusive).")
            .Produces<Page<PlatformAuditEntryDto>>()
            .ProducesValidationProblem();

        admin.MapPost("/organizations/{id:guid}/support-sessions",
                async (Guid id, [FromBody] StartSupportSessionFields body, IMediator mediator, CancellationToken ct) =>
                {
                    var result = await mediator.Send(new StartSupportSession(id, body.Reason ?? string.Empty, body.Minutes ?? 0), ct);
                    return result.IsSuccess
                        ? TypedResults.Created($"/api/v1/admin/support-sessions/{result.Value.Id}", result.Value)
                        : Problems.Result(result.Error!);
                })
            .WithName("Admin_StartSupportSession")
            .WithSummary("Open a support session")
            .WithDescription("Platform admin: opens a read-only support session on one organization for 1 to 60 minutes, with a "
                + "reason. The organization's audit log records it and its owners get an email.")
            .Produces<SupportSessionDto>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/support-sessions", async (Guid? organizationId, bool? active, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListSupportSessions(organizationId, active), ct)))
            .WithName("Admin_ListSupportSessions")
            .WithSummary("List support sessions")
            .WithDescription("Platform admin: returns support sessions, newest first (at most 200), of one organization or all; "
                + "active=true keeps the open ones.")
            .Produces<SupportSessionList>();
        admin.MapDelete("/support-sessions/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new RevokeSupportSession(id), ct)))
            .WithName("Admin_RevokeSupportSession")
            .WithSummary("End a support session")
            .WithDescription("Platform admin: ends a support session now and records it in the organization's audit log; ending one "
                + "that is already over changes nothing.")
            .Produces<SupportSessionDto>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/support-sessions/{id:guid}/{resource}",
                async (Guid id, string resource, string? q, string? cursor, int? limit, IMediator mediator, CancellationToken ct) =>
                    HttpResults.Ok(await mediator.Send(new BrowseSupportSession(id, resource, q, cursor, limit), ct)))
            .WithName("Admin_BrowseSupportSession")
            .WithSummary("Browse through a support session")
            .WithDescription("Platform admin who opened the session, while it is active: returns one page of the organization's "
                + "contacts, companies or deals (resource), newest first, read-only; q searches. An expired or revoked session "
                + "answers 403 support_session_inactive.")
            .Produces<Page<SupportRecordDto>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public sealed record PlatformAuditLogParameters(
        Guid? OrganizationId,
        Guid? ActorUserId,
        string? Action,
        DateTimeOffset? From,
        DateTimeOffset? To,
        string? Cursor,
        int? Limit);
}
