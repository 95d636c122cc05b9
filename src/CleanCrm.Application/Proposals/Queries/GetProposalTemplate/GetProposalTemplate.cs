using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Proposals.Queries.GetProposalTemplate;

/// <summary>The organization's proposal template, or the built-in default while none is saved.</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.Proposals)]
public sealed record GetProposalTemplate : IQuery<Result<ProposalTemplateDto>>, IOrgScopedRequest;

public sealed class GetProposalTemplateHandler(ITenantDbContext db) : IQueryHandler<GetProposalTemplate, Result<ProposalTemplateDto>>
{
    public async ValueTask<Result<ProposalTemplateDto>> Handle(GetProposalTemplate query, CancellationToken cancellationToken) =>
        await db.ProposalTemplates.AsNoTracking().FirstOrDefaultAsync(cancellationToken) is { } saved
            ? new ProposalTemplateDto(saved.Markdown, false, saved.UpdatedAt, saved.UpdatedBy)
            : new ProposalTemplateDto(ProposalTemplates.Default, true, null, null);
}
