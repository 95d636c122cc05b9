using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Reports.Queries.GetWinRateReport;

/// <summary>
/// Closed deals of a group: won, lost, the win rate (won / closed, 0-1, null when none closed) and the average sales
/// cycle of the won ones (creation to close, in days). Only the key of the group's kind is set.
/// </summary>
public sealed record WinRateDto(
    Guid? OwnerId,
    Guid? PipelineId,
    string? Period,
    int Won,
    int Lost,
    double? WinRate,
    double? AverageSalesCycleDays);

public sealed record WinRateReportDto(
    WinRateDto Total,
    IReadOnlyList<WinRateDto> ByOwner,
    IReadOnlyList<WinRateDto> ByPipeline,
    IReadOnlyList<WinRateDto> ByPeriod);

/// <summary>Win rate by owner, pipeline and month of closing (docs/REPORTS.md), in one grouping-sets query.</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.AdvancedReporting)]
public sealed record GetWinRateReport(Guid? PipelineId = null, Guid? OwnerId = null, DateOnly? From = null, DateOnly? To = null)
    : IQuery<Result<WinRateReportDto>>, IOrgScopedRequest, IReportFilter;

public sealed class GetWinRateReportValidator : ReportFilterValidator<GetWinRateReport>;

public sealed class GetWinRateReportHandler(ITenantDbContext db) : IQueryHandler<GetWinRateReport, Result<WinRateReportDto>>
{
    // GROUPING(owner_id, pipeline_id, period) sets a bit for each column a row is NOT grouped by.
    private const int ByOwner = 0b011;
    private const int ByPipeline = 0b101;
    private const int ByPeriod = 0b110;
    private const int Total = 0b111;

    public async ValueTask<Result<WinRateReportDto>> Handle(GetWinRateReport query, CancellationToken cancellationToken)
    {
        if (await query.CheckReferencesAsync(db, cancellationToken) is { } invalid)
        {
            return invalid;
        }

        var from = query.FromInstant();
        var to = query.ToInstantExclusive();
        var rows = await db.SqlQuery<WinRateRow>($"""
            SELECT GROUPING(d.owner_id, d.pipeline_id, to_char(d.closed_at AT TIME ZONE 'UTC', 'YYYY-MM'))::int AS grouping_set,
                   d.owner_id, d.pipeline_id, to_char(d.closed_at AT TIME ZONE 'UTC', 'YYYY-MM') AS period,
                   (count(*) FILTER (WHERE d.status = 'won'))::int AS won,
                   (count(*) FILTER (WHERE d.status = 'lost'))::int AS lost,
                   (avg(extract(epoch FROM d.closed_at - d.created_at)) FILTER (WHERE d.status = 'won'))::float8 AS cycle_seconds
            FROM deals d
            WHERE d.deleted_at IS NULL AND d.status IN ('won', 'lost') AND d.closed_at IS NOT NULL
              AND ({query.PipelineId}::uuid IS NULL OR d.pipeline_id = {query.PipelineId}::uuid)
              AND ({query.OwnerId}::uuid IS NULL OR d.owner_id = {query.OwnerId}::uuid)
              AND ({from}::timestamptz IS NULL OR d.closed_at >= {from}::timestamptz)
              AND ({to}::timestamptz IS NULL OR d.closed_at < {to}::timestamptz)
            GROUP BY GROUPING SETS ((d.owner_id), (d.pipeline_id), (to_char(d.closed_at AT TIME ZONE 'UTC', 'YYYY-MM')), ())
            """).ToListAsync(cancellationToken);

        var total = rows.Where(r => r.GroupingSet == Total).Select(Dto).FirstOrDefault()
                    ?? new WinRateDto(null, null, null, 0, 0, null, null);
        return new WinRateReportDto(
            total,
            rows.Where(r => r.GroupingSet == ByOwner).Select(Dto).OrderByDescending(r => r.Won + r.Lost).ThenBy(r => r.OwnerId).ToList(),
            rows.Where(r => r.GroupingSet == ByPipeline).Select(Dto).OrderByDescending(r => r.Won + r.Lost).ThenBy(r => r.PipelineId)
                .ToList(),
            rows.Where(r => r.GroupingSet == ByPeriod).Select(Dto).OrderBy(r => r.Period, StringComparer.Ordinal).ToList());
    }

    private static WinRateDto Dto(WinRateRow row) => new(
        row.GroupingSet == ByOwner ? row.OwnerId : null,
        row.GroupingSet == ByPipeline ? row.PipelineId : null,
        row.GroupingSet == ByPeriod ? row.Period : null,
        row.Won,
        row.Lost,
        row.Won + row.Lost == 0 ? null : Math.Round((double)row.Won / (row.Won + row.Lost), 4),
        row.CycleSeconds is { } seconds ? Math.Round(seconds / 86_400, 2) : null);

    private sealed record WinRateRow(
        int GroupingSet, Guid? OwnerId, Guid? PipelineId, string? Period, int Won, int Lost, double? CycleSeconds);
}
