using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Proposals.Queries.GetProposal;

/// <summary>One proposal with its status (a proposal of a deleted deal is not found).</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.Proposals)]
public sealed record GetProposal(Guid Id) : IQuery<Result<ProposalDto>>, IOrgScopedRequest;

public sealed class GetProposalHandler(ITenantDbContext db) : IQueryHandler<GetProposal, Result<ProposalDto>>
{
    public async ValueTask<Result<ProposalDto>> Handle(GetProposal query, CancellationToken cancellationToken)
    {
        var proposal = await db.Proposals.AsNoTracking()
            .Where(p => p.Id == query.Id && db.Deals.Any(d => d.Id == p.DealId && d.DeletedAt == null))
            .FirstOrDefaultAsync(cancellationToken);
        return proposal is null ? Error.NotFound("Proposal", query.Id) : ProposalDto.From(proposal);
    }
}
