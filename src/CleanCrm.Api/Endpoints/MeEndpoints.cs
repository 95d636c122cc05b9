using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.Me;
using CleanCrm.Application.Me.Commands.RevokeAllMySessions;
using CleanCrm.Application.Me.Commands.RevokeMySession;
using CleanCrm.Application.Me.Queries.GetMe;
using CleanCrm.Application.Me.Queries.ListMySessions;
using CleanCrm.Application.Users.Commands.RevokeUserSessions;
using Mediator;
using OpenIddict.Abstractions;

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
        MapSessions(app);
        return app;
    }

    // docs/SECURITY.md, "Sessions".
    private static void MapSessions(IEndpointRouteBuilder app)
    {
        var sessions = app.MapGroup("/api/v1/me/sessions").WithTags("Identity").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        sessions.MapGet("/", async (HttpContext context, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListMySessions(CurrentSession(context)), ct)))
            .WithName("Me_ListSessions")
            .WithSummary("List my sessions")
            .WithDescription("Returns the caller's sign-in sessions that can still be used, newest first: device and user agent, IP "
                + "address, created and last used (sign-in or refresh), client; the session of the calling token is marked current.")
            .Produces<IReadOnlyList<SessionDto>>();
        sessions.MapDelete("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.NoContent(await mediator.Send(new RevokeMySession(id), ct)))
            .WithName("Me_RevokeSession")
            .WithSummary("Revoke one of my sessions")
            .WithDescription("Revokes one of the caller's sessions: its refresh tokens are refused at once and its access tokens within "
                + "seconds on every API instance. 404 when the caller has no such session.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);
        sessions.MapPost("/revoke-all", async (IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new RevokeAllMySessions(), ct)))
            .WithName("Me_RevokeAllSessions")
            .WithSummary("Sign out everywhere")
            .WithDescription("Revokes every session of the caller, including the calling one and the sign-in page's cookie: every "
                + "refresh token, access token and browser session must sign in again. Returns how many sessions were still valid.")
            .Produces<RevokedSessionsDto>();

        app.MapPost("/api/v1/admin/users/{id:guid}/revoke-sessions", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new RevokeUserSessions(id), ct)))
            .WithTags("Administration")
            .RequireAuthorization()
            .WithName("Admin_RevokeUserSessions")
            .WithSummary("Sign a user out everywhere")
            .WithDescription("Platform admin: revokes every session of a user (refresh tokens, access tokens, the sign-in page's "
                + "cookie), e.g. after a lost device. Kept in the platform audit log.")
            .Produces<RevokedSessionsDto>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static Guid? CurrentSession(HttpContext context) =>
        Guid.TryParse(context.User.GetAuthorizationId(), out var id) ? id : null;
}
