using System.Net;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Integrations;
using CleanCrm.Application.Integrations.Commands.CompleteIntegrationAuthorization;
using CleanCrm.Application.Integrations.Commands.ConnectIntegration;
using CleanCrm.Application.Integrations.Commands.DisconnectIntegration;
using CleanCrm.Application.Integrations.Queries.ListIntegrations;
using Mediator;

namespace CleanCrm.Api.Endpoints.Integrations;

/// <summary>Connections to Google Calendar, Slack, Fathom and SavvyCal, and the OAuth callback (docs/INTEGRATIONS.md).</summary>
public static class IntegrationsEndpoints
{
    public static IEndpointRouteBuilder MapIntegrations(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/integrations").WithTags("Integrations").RequireAuthorization().RequireOrg().WithCrmProblems();
        group.MapGet("/", async (IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListIntegrations(), ct)))
            .WithName("Integrations_List")
            .WithSummary("List integrations")
            .WithDescription("Every provider (google, slack, fathom, savvycal) with the organization's connection state; never a token.")
            .Produces<IntegrationList>();
        group.MapPost("/{provider}/connect", async (string provider, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ConnectIntegration(provider,
                    $"{request.Scheme}://{request.Host}{request.PathBase}"), ct)))
            .WithName("Integrations_Connect")
            .WithSummary("Start connecting a provider")
            .WithDescription("Owner/admin: answers the provider's authorization URL to send the browser to (single-use state, valid 10 "
                + "minutes, PKCE where supported). google and savvycal need calendar_sync, slack needs slack_integration (403 "
                + "feature_disabled otherwise); 503 integration_not_configured when the platform has no OAuth client for it.")
            .Produces<AuthorizationUrlDto>()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapDelete("/{provider}", async (string provider, IMediator mediator, CancellationToken ct) =>
                HttpResults.NoContent(await mediator.Send(new DisconnectIntegration(provider), ct)))
            .WithName("Integrations_Disconnect")
            .WithSummary("Disconnect a provider")
            .WithDescription("Owner/admin: revokes the grant at the provider where it supports it and deletes the tokens; 404 when not "
                + "connected.")
            .Produces(StatusCodes.Status204NoContent);

        // The provider sends the browser here; it carries no API token, the single-use state says whose authorization it is.
        app.MapGet("/oauth/{provider}/callback",
                async (string provider, string? code, string? state, string? error, IMediator mediator, CancellationToken ct) =>
                {
                    var result = await mediator.Send(new CompleteIntegrationAuthorization(provider, code, state, error), ct);
                    if (!result.IsSuccess)
                    {
                        return Problems.Result(result.Error!);
                    }

                    return result.Value.Redirect is { } redirect
                        ? Results.Redirect(redirect.AbsoluteUri)
                        : Page(StatusCodes.Status400BadRequest, result.Value.ErrorPage ?? "The authorization failed.");
                })
            .ExcludeFromDescription()
            .AllowAnonymous();
        return app;
    }

    private static IResult Page(int status, string message)
    {
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Integration - CleanCrm</title>
            <meta name="viewport" content="width=device-width, initial-scale=1"></head>
            <body><main><h1>Connecting an integration</h1><p role="alert">{WebUtility.HtmlEncode(message)}</p></main></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }
}
