using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.Sso;
using CleanCrm.Application.Sso.Commands.DeleteSsoConfiguration;
using CleanCrm.Application.Sso.Commands.SaveSsoConfiguration;
using CleanCrm.Application.Sso.Queries.GetSsoConfiguration;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>An organization's enterprise identity provider (docs/SECURITY.md, "Enterprise SSO"): owners, Enterprise plan.</summary>
public static class SsoEndpoints
{
    public static IEndpointRouteBuilder MapSso(this IEndpointRouteBuilder app)
    {
        var sso = app.MapGroup("/api/v1/orgs/{slug}/sso").WithTags("Organizations").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        sso.MapGet("/", async (string slug, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetSsoConfiguration(slug), ct)))
            .WithName("Organizations_GetSso")
            .WithSummary("Get the organization's identity provider")
            .WithDescription("Owners, Enterprise plan: the OpenID Connect identity provider its members sign in with (the client secret "
                + "is never returned; clientSecretSet says whether one is stored). 404 when none is configured or for another "
                + "organization's slug; 403 feature_disabled on another plan.")
            .Produces<SsoConfigurationDto>();
        sso.MapPut("/", async (string slug, [FromBody] SsoConfigurationFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new SaveSsoConfiguration(slug, body), ct)))
            .WithName("Organizations_PutSso")
            .WithSummary("Configure the organization's identity provider")
            .WithDescription("Owners, Enterprise plan: creates or replaces the identity provider (issuer, clientId, write-only "
                + "clientSecret kept in the secret store, allowedDomains, enforce, jitProvisioning, defaultRole). 409 sso_domain_taken "
                + "when a domain belongs to another organization.")
            .Produces<SsoConfigurationDto>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        sso.MapDelete("/", async (string slug, IMediator mediator, CancellationToken ct) =>
                HttpResults.NoContent(await mediator.Send(new DeleteSsoConfiguration(slug), ct)))
            .WithName("Organizations_DeleteSso")
            .WithSummary("Remove the organization's identity provider")
            .WithDescription("Owners, Enterprise plan: removes the identity provider and its secret; members sign in with a password "
                + "again.")
            .Produces(StatusCodes.Status204NoContent);
        return app;
    }
}
