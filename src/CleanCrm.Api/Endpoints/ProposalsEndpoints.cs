using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Proposals;
using CleanCrm.Application.Proposals.Commands.RequestProposal;
using CleanCrm.Application.Proposals.Commands.UpdateProposalTemplate;
using CleanCrm.Application.Proposals.Queries.GetProposal;
using CleanCrm.Application.Proposals.Queries.GetProposalTemplate;
using CleanCrm.Application.Proposals.Queries.ListDealProposals;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>AI proposals for deals and the org's proposal template (docs/AI.md "Proposals", docs/API.md "Proposals").</summary>
public static class ProposalsEndpoints
{
    public static IEndpointRouteBuilder MapProposals(this IEndpointRouteBuilder app)
    {
        var deals = app.MapGroup("/api/v1/deals").WithTags("Proposals").RequireAuthorization().RequireOrg().WithCrmProblems();
        deals.MapPost("/{id:guid}/proposals", async (Guid id, [FromBody] ProposalRequestBody? body, IMediator mediator,
                CancellationToken ct) =>
            {
                var result = await mediator.Send(new RequestProposal(id, body), ct);
                return result.IsSuccess
                    ? TypedResults.Accepted($"/api/v1/proposals/{result.Value.Id}", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("Proposals_Request")
            .WithSummary("Draft a proposal for a deal")
            .WithDescription("Queues the AI drafting of a proposal from the deal, its company, contacts, meeting summaries and the "
                + "organization's template, with optional instructions (feature proposals). Answers 202 with the pending proposal "
                + "and its Location; follow it with Proposals_Get. 402 when the month's AI tokens are used up, 503 "
                + "ai_not_configured without a provider.")
            .Produces<ProposalDto>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status402PaymentRequired);

        deals.MapGet("/{id:guid}/proposals", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListDealProposals(id), ct)))
            .WithName("Proposals_ListForDeal")
            .WithSummary("List a deal's proposals")
            .WithDescription("Returns the deal's proposals, newest first, with their status but without their documents.")
            .Produces<ProposalList>();

        var proposals = app.MapGroup("/api/v1/proposals").WithTags("Proposals").RequireAuthorization().RequireOrg().WithCrmProblems();
        proposals.MapGet("/template", async (IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetProposalTemplate(), ct)))
            .WithName("Proposals_GetTemplate")
            .WithSummary("Get the proposal template")
            .WithDescription("Returns the organization's proposal template (Markdown), or the built-in default (isDefault) when none "
                + "was saved.")
            .Produces<ProposalTemplateDto>();

        proposals.MapPut("/template", async ([FromBody] ProposalTemplateBody body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new UpdateProposalTemplate(body), ct)))
            .WithName("Proposals_UpdateTemplate")
            .WithSummary("Replace the proposal template")
            .WithDescription("Replaces the organization's proposal template: Markdown whose structure the model follows, at most "
                + "20,000 characters.")
            .Produces<ProposalTemplateDto>();

        proposals.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetProposal(id), ct)))
            .WithName("Proposals_Get")
            .WithSummary("Get a proposal")
            .WithDescription("Returns a proposal with its status (pending, generating, ready, failed): when ready, the model's "
                + "Markdown and its sanitised HTML; when failed, the reason.")
            .Produces<ProposalDto>();

        return app;
    }
}
