using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.AuditLog.Queries.ListAuditLog;
using CleanCrm.Application.Common.Paging;
using Mediator;

namespace CleanCrm.Api.Endpoints;

public static class AuditLogEndpoints
{
    public static IEndpointRouteBuilder MapAuditLog(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/audit-log").WithTags("Audit log").RequireAuthorization().RequireOrg().WithCrmProblems();
        group.MapGet("/", async ([AsParameters] ListAuditLogParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListAuditLog(p.Limit, p.Cursor, p.Sort, p.EntityType, p.EntityId, p.ActorId,
                    p.Action, p.CorrelationId, p.From, p.To), ct)))
            .WithName("AuditLog_List")
            .WithSummary("List the audit log")
            .WithDescription("Returns one page of the organization's audit entries, newest first.")
            .Produces<Page<AuditEntryDto>>();
        return app;
    }

    public sealed record ListAuditLogParameters(
        int? Limit,
        string? Cursor,
        string? Sort,
        string? EntityType,
        Guid? EntityId,
        Guid? ActorId,
        string? Action,
        string? CorrelationId,
        DateTimeOffset? From,
        DateTimeOffset? To);
}
