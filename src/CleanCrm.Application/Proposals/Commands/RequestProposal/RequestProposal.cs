using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Ai;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Proposals.Commands.RequestProposal;

/// <summary>The optional body of <c>POST /api/v1/deals/{id}/proposals</c>.</summary>
public sealed record ProposalRequestBody(string? Instructions);

/// <summary>
/// Records a pending proposal for a deal and queues its generation (docs/AI.md, "Proposals"). Refused up front when no
/// provider is configured (503) or the month's remaining AI tokens cannot hold even the answer (402); the job's own
/// reservation is what keeps parallel requests within the allowance.
/// </summary>
[RequiresPermission(Permission.CrmWrite)]
[RequiresFeature(PremiumFeatures.Proposals)]
public sealed record RequestProposal(Guid DealId, ProposalRequestBody? Body) : ICommand<Result<ProposalDto>>, IOrgScopedRequest;

public sealed class RequestProposalValidator : AbstractValidator<RequestProposal>
{
    public RequestProposalValidator() =>
        RuleFor(x => x.Body!.Instructions).MaximumLength(Proposal.MaxInstructionsLength)
            .WithMessage($"must be at most {Proposal.MaxInstructionsLength} characters.")
            .OverridePropertyName("instructions")
            .When(x => x.Body is not null);
}

public sealed class RequestProposalHandler(
    ITenantDbContext db,
    ITenantContext tenant,
    ICallerContext caller,
    IAiProvider provider,
    IEntitlements entitlements,
    IProposalQueue queue,
    TimeProvider clock) : ICommandHandler<RequestProposal, Result<ProposalDto>>
{
    public async ValueTask<Result<ProposalDto>> Handle(RequestProposal command, CancellationToken cancellationToken)
    {
        // The deal first: another org's id is simply not found, whatever this deployment's AI set-up.
        if (!await db.Deals.AnyAsync(d => d.Id == command.DealId && d.DeletedAt == null, cancellationToken))
        {
            return Error.NotFound("Deal", command.DealId);
        }

        if (!provider.IsConfigured)
        {
            return AiErrors.NotConfiguredError();
        }

        var organizationId = tenant.Current!.OrganizationId;
        if (await entitlements.GetAsync(organizationId, cancellationToken) is { Limits.AiTokensPerMonth: { } limit } current
            && current.Usage.AiTokens + provider.Settings.MaxOutputTokens > limit)
        {
            return BillingErrors.LimitReached(UsageMetrics.AiTokens, limit, current.Usage.AiTokens, current.Plan);
        }

        var now = clock.GetUtcNow();
        var instructions = command.Body?.Instructions?.Trim();
        var proposal = new Proposal
        {
            DealId = command.DealId,
            Status = ProposalStatus.Pending,
            Instructions = string.IsNullOrEmpty(instructions) ? null : instructions,
            CreatedBy = caller.UserId,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Proposals.Add(proposal);
        await db.SaveChangesAsync(cancellationToken);
        if (!queue.Enqueue(organizationId, proposal.Id))
        {
            proposal.Status = ProposalStatus.Failed;
            proposal.Error = "The proposal could not be handed to the worker; nothing was generated or charged. Ask again in a moment.";
            proposal.UpdatedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(CancellationToken.None);
        }

        return ProposalDto.From(proposal);
    }
}
