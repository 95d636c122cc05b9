using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Invitations;
using CleanCrm.Application.Invitations.Commands.AcceptInvitation;
using CleanCrm.Application.Invitations.Commands.CreateInvitation;
using CleanCrm.Application.Invitations.Commands.RevokeInvitation;
using CleanCrm.Application.Invitations.Queries.GetInvitation;
using CleanCrm.Application.Invitations.Queries.ListInvitations;
using Mediator;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace CleanCrm.Api.Endpoints;

/// <summary>
/// Invitations (docs/API.md, "Members and invitations"): owners and admins invite by email; the token travels only in the mail.
/// </summary>
public static class InvitationsEndpoints
{
    public const string AcceptPathPrefix = "/api/v1/invitations/";

    public static IEndpointRouteBuilder MapInvitations(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/invitations").WithTags("Members").RequireAuthorization().RequireOrg().WithCrmProblems();
        group.MapPost("/", async ([FromBody] CreateInvitationFields body, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new CreateInvitation(body), ct);
                return result.IsSuccess
                    ? TypedResults.Created($"/api/v1/invitations/{result.Value!.Id}", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("Invitations_Create")
            .WithSummary("Invite a member")
            .WithDescription("Invites someone by email; 402 plan_limit_reached when the plan has no seat left.")
            .Produces<InvitationDto>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status402PaymentRequired)
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/",
            async (IMediator mediator, CancellationToken ct) => HttpResults.Ok(await mediator.Send(new ListInvitations(), ct)))
            .WithName("Invitations_List")
            .WithSummary("List invitations")
            .WithDescription("Returns the organization's pending invitations.")
            .Produces<InvitationList>();
        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
            HttpResults.Ok(await mediator.Send(new GetInvitation(id), ct)))
            .WithName("Invitations_Get")
            .WithSummary("Get an invitation")
            .WithDescription("Returns one invitation of the organization.")
            .Produces<InvitationDto>();
        group.MapDelete("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
            HttpResults.NoContent(await mediator.Send(new RevokeInvitation(id), ct)))
            .WithName("Invitations_Revoke")
            .WithSummary("Revoke an invitation")
            .WithDescription("Revokes a pending invitation.")
            .Produces(StatusCodes.Status204NoContent);

        // Not org-scoped: the invitee is not a member yet, and the token names the organization.
        app.MapPost("/api/v1/invitations/{token}/accept", async (
                string token, [FromBody(EmptyBodyBehavior = EmptyBodyBehavior.Allow)] AcceptInvitationFields? body, IMediator mediator,
                CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new AcceptInvitation(token, body ?? new AcceptInvitationFields()), ct)))
            .WithTags("Members")
            .WithName("Invitations_Accept")
            .WithSummary("Accept an invitation")
            .WithDescription("Accepts an invitation by its token for the signed-in user; 402 plan_limit_reached when the plan has no "
                + "seat left.")
            .AllowAnonymous()
            .Produces<InvitationAccepted>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status402PaymentRequired)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    /// <summary>The invitation token is a credential: paths carrying it are logged with the token replaced.</summary>
    public static string RedactPath(string path) => IsAcceptPath(path) ? $"{AcceptPathPrefix}{{token}}/accept" : path;

    /// <summary>Whether the path is <c>/api/v1/invitations/{token}/accept</c> (rate limited per IP, redacted in logs).</summary>
    public static bool IsAcceptPath(string path) =>
        path.StartsWith(AcceptPathPrefix, StringComparison.OrdinalIgnoreCase)
            && path.EndsWith("/accept", StringComparison.OrdinalIgnoreCase);
}
