using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Proposals.Queries.ListDealProposals;

/// <summary>The answer of <c>GET /api/v1/deals/{id}/proposals</c>: newest first, without their documents.</summary>
public sealed record ProposalList(IReadOnlyList<ProposalSummaryDto> Items);

/// <summary>A proposal in a list: its status and tokens; read the document with <c>GET /api/v1/proposals/{id}</c>.</summary>
public sealed record ProposalSummaryDto(Guid Id, Guid DealId, Domain.Tenant.ProposalStatus Status, string? Instructions, string? Error,
    long InputTokens, long OutputTokens, Guid? CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

/// <summary>The deal's proposals, newest first (at most 100: a deal has a handful).</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.Proposals)]
public sealed record ListDealProposals(Guid DealId) : IQuery<Result<ProposalList>>, IOrgScopedRequest;

public sealed class ListDealProposalsHandler(ITenantDbContext db) : IQueryHandler<ListDealProposals, Result<ProposalList>>
{
    private const int MaxItems = 100;

    public async ValueTask<Result<ProposalList>> Handle(ListDealProposals query, CancellationToken cancellationToken)
    {
        if (!await db.Deals.AnyAsync(d => d.Id == query.DealId && d.DeletedAt == null, cancellationToken))
        {
            return Error.NotFound("Deal", query.DealId);
        }

        var items = await db.Proposals.AsNoTracking().Where(p => p.DealId == query.DealId)
            .OrderByDescending(p => p.CreatedAt).ThenByDescending(p => p.Id).Take(MaxItems)
            .Select(p => new ProposalSummaryDto(p.Id, p.DealId, p.Status, p.Instructions, p.Error, p.InputTokens, p.OutputTokens,
                p.CreatedBy, p.CreatedAt, p.CompletedAt))
            .ToListAsync(cancellationToken);
        return new ProposalList(items);
    }
}
