using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Reports.Queries.GetRevenueByOwnerReport;

/// <summary>
/// What a member is credited with in one currency: revenue by the deals' revenue splits (the owner's whole amount when
/// a deal has none), and overlay credit separately (it does not add up to the total). A null member is the unowned deals.
/// </summary>
public sealed record OwnerRevenueDto(
    Guid? MemberId, string Currency, int DealCount, long Revenue, int OverlayDealCount, long OverlayRevenue);

/// <summary>The closed-won revenue of one currency, for checking the credits against.</summary>
public sealed record RevenueTotalDto(string Currency, int DealCount, long Revenue);

public sealed record RevenueByOwnerReportDto(IReadOnlyList<OwnerRevenueDto> Items, IReadOnlyList<RevenueTotalDto> Totals);

/// <summary>Closed-won revenue credited per member by the deals' revenue splits (docs/REPORTS.md).</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.AdvancedReporting)]
public sealed record GetRevenueByOwnerReport(Guid? PipelineId = null, Guid? OwnerId = null, DateOnly? From = null, DateOnly? To = null)
    : IQuery<Result<RevenueByOwnerReportDto>>, IOrgScopedRequest, IReportFilter;

public sealed class GetRevenueByOwnerReportValidator : ReportFilterValidator<GetRevenueByOwnerReport>;

public sealed class GetRevenueByOwnerReportHandler(ITenantDbContext db)
    : IQueryHandler<GetRevenueByOwnerReport, Result<RevenueByOwnerReportDto>>
{
    public async ValueTask<Result<RevenueByOwnerReportDto>> Handle(GetRevenueByOwnerReport query, CancellationToken cancellationToken)
    {
        if (await query.CheckReferencesAsync(db, cancellationToken) is { } invalid)
        {
            return invalid;
        }

        var from = query.FromInstant();
        var to = query.ToInstantExclusive();
        // A credited row per (deal, member, split type): the live splits, or the owner for 100 % when a deal has no
        // revenue split. Credits are summed exactly (numeric) and rounded once per member and currency.
        var rows = await db.SqlQuery<RevenueRow>($"""
            WITH won AS (
                SELECT d.id, d.owner_id, d.amount, d.currency FROM deals d
                WHERE d.deleted_at IS NULL AND d.status = 'won' AND d.amount IS NOT NULL
                  AND ({query.PipelineId}::uuid IS NULL OR d.pipeline_id = {query.PipelineId}::uuid)
                  AND ({from}::timestamptz IS NULL OR d.closed_at >= {from}::timestamptz)
                  AND ({to}::timestamptz IS NULL OR d.closed_at < {to}::timestamptz)),
            credit AS (
                SELECT s.member_id, w.currency, s.type, w.amount * s.percent / 100 AS credit
                FROM won w JOIN deal_splits s ON s.deal_id = w.id AND s.deleted_at IS NULL
                UNION ALL
                SELECT w.owner_id, w.currency, 'revenue', w.amount::numeric
                FROM won w
                WHERE NOT EXISTS (
                    SELECT 1 FROM deal_splits s WHERE s.deal_id = w.id AND s.deleted_at IS NULL AND s.type = 'revenue')),
            totals AS (
                SELECT NULL::uuid AS member_id, w.currency, true AS is_total, count(*)::int AS deal_count,
                       sum(w.amount)::bigint AS revenue, 0 AS overlay_deal_count, 0::bigint AS overlay_revenue
                FROM won w GROUP BY w.currency)
            SELECT c.member_id, c.currency, false AS is_total,
                   (count(*) FILTER (WHERE c.type = 'revenue'))::int AS deal_count,
                   coalesce(round(sum(c.credit) FILTER (WHERE c.type = 'revenue')), 0)::bigint AS revenue,
                   (count(*) FILTER (WHERE c.type = 'overlay'))::int AS overlay_deal_count,
                   coalesce(round(sum(c.credit) FILTER (WHERE c.type = 'overlay')), 0)::bigint AS overlay_revenue
            FROM credit c
            WHERE {query.OwnerId}::uuid IS NULL OR c.member_id = {query.OwnerId}::uuid
            GROUP BY c.member_id, c.currency
            UNION ALL
            SELECT * FROM totals
            """).ToListAsync(cancellationToken);

        var items = rows.Where(r => !r.IsTotal)
            .OrderBy(r => r.Currency, StringComparer.Ordinal).ThenByDescending(r => r.Revenue).ThenBy(r => r.MemberId)
            .Select(r => new OwnerRevenueDto(r.MemberId, r.Currency, r.DealCount, r.Revenue, r.OverlayDealCount, r.OverlayRevenue))
            .ToList();
        var totals = rows.Where(r => r.IsTotal).OrderBy(r => r.Currency, StringComparer.Ordinal)
            .Select(r => new RevenueTotalDto(r.Currency, r.DealCount, r.Revenue)).ToList();
        return new RevenueByOwnerReportDto(items, totals);
    }

    private sealed record RevenueRow(
        Guid? MemberId, string Currency, bool IsTotal, int DealCount, long Revenue, int OverlayDealCount, long OverlayRevenue);
}
