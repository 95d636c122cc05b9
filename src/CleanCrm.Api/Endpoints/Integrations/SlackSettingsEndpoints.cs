using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Integrations;
using CleanCrm.Application.Integrations.Commands.UpdateSlackSettings;
using CleanCrm.Application.Integrations.Queries.GetSlackSettings;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints.Integrations;

/// <summary>Which deal events the organization posts to Slack (docs/WORKFLOWS.md, "Slack notifications").</summary>
public static class SlackSettingsEndpoints
{
    public static IEndpointRouteBuilder MapSlackSettings(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/integrations/slack/settings").WithTags("Integrations").RequireAuthorization().RequireOrg()
            .WithCrmProblems();
        group.MapGet("/", async (IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetSlackSettings(), ct)))
            .WithName("Integrations_GetSlackSettings")
            .WithSummary("Get the Slack notification settings")
            .WithDescription("Owner/admin, feature slack_integration: the events posted to the connected Slack channel and the events "
                + "that can be chosen.")
            .Produces<SlackSettingsDto>();
        group.MapPut("/", async ([FromBody] SlackSettingsFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new UpdateSlackSettings(body), ct)))
            .WithName("Integrations_UpdateSlackSettings")
            .WithSummary("Choose the Slack notifications")
            .WithDescription("Owner/admin, feature slack_integration: replaces the chosen events (deal.won, deal.lost, "
                + "deal.stage_changed; an empty list turns notifications off); an unknown event is a 400 naming it.")
            .Produces<SlackSettingsDto>();
        return app;
    }
}
