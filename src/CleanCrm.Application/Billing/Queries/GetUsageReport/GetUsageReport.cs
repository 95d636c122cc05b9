using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing.Queries.GetUsageReport;

public sealed record UsagePeriodDto(string Metric, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, long Quantity, bool Reported);

public sealed record UsageReportDto(IReadOnlyList<UsagePeriodDto> Items);

/// <summary>Usage history per billing period: an advanced report, so it needs the <c>advanced_reporting</c> feature.</summary>
[RequiresPermission(Permission.MembersManage)]
[RequiresFeature(PremiumFeatures.AdvancedReporting)]
public sealed record GetUsageReport : IQuery<Result<UsageReportDto>>, IOrgScopedRequest;

public sealed class GetUsageReportHandler(ICatalogDbContext db, ITenantContext tenant)
    : IQueryHandler<GetUsageReport, Result<UsageReportDto>>
{
    public async ValueTask<Result<UsageReportDto>> Handle(GetUsageReport query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var items = await db.UsageRollups.AsNoTracking()
            .Where(r => r.OrganizationId == organizationId)
            .OrderByDescending(r => r.PeriodStart).ThenBy(r => r.Metric)
            .Take(24)
            .Select(r => new UsagePeriodDto(r.Metric, r.PeriodStart, r.PeriodEnd, r.Quantity, r.ReportedAt != null))
            .ToListAsync(cancellationToken);
        return new UsageReportDto(items);
    }
}
