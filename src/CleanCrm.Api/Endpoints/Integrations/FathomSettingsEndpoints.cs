using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Integrations;
using CleanCrm.Application.Integrations.Commands.UpdateFathomSettings;
using CleanCrm.Application.Integrations.Queries.GetFathomSettings;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints.Integrations;

/// <summary>The organization's Fathom meeting-sync choices (docs/INTEGRATIONS.md, "Fathom").</summary>
public static class FathomSettingsEndpoints
{
    public static IEndpointRouteBuilder MapFathomSettings(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/integrations/fathom/settings").WithTags("Integrations").RequireAuthorization().RequireOrg()
            .WithCrmProblems();
        group.MapGet("/", async (IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetFathomSettings(), ct)))
            .WithName("Integrations_GetFathomSettings")
            .WithSummary("Get the Fathom sync settings")
            .WithDescription("Owner/admin: whether external invitees of a recorded meeting who are neither contacts nor members "
                + "become contacts; isDefault is true while the organization has not chosen and the platform default applies.")
            .Produces<FathomSettingsDto>();
        group.MapPut("/", async ([FromBody] FathomSettingsFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new UpdateFathomSettings(body), ct)))
            .WithName("Integrations_UpdateFathomSettings")
            .WithSummary("Choose the Fathom sync settings")
            .WithDescription("Owner/admin: sets createContacts (required, true or false) for this organization; meetings already "
                + "imported are not changed.")
            .Produces<FathomSettingsDto>();
        return app;
    }
}
