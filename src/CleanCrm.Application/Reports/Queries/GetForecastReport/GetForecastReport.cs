using System.Globalization;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Reports.Queries.GetForecastReport;

/// <summary>
/// One month and currency: the open deals expected to close then (their amount, weighted by probability), the deals
/// won in it, and the committed amount (won plus the open deals at or above the commit probability).
/// </summary>
public sealed record ForecastMonthDto(
    string Month,
    string Currency,
    int OpenDealCount,
    long OpenAmount,
    long WeightedAmount,
    int CommitDealCount,
    long CommittedAmount,
    int WonDealCount,
    long WonAmount);

public sealed record ForecastReportDto(int CommitProbability, IReadOnlyList<ForecastMonthDto> Items);

/// <summary>The forecast by expected close month (docs/REPORTS.md), per currency.</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.AdvancedReporting)]
public sealed record GetForecastReport(
    Guid? PipelineId = null,
    Guid? OwnerId = null,
    DateOnly? From = null,
    DateOnly? To = null,
    int? CommitProbability = null) : IQuery<Result<ForecastReportDto>>, IOrgScopedRequest, IReportFilter
{
    public const int DefaultCommitProbability = 90;
}

public sealed class GetForecastReportValidator : ReportFilterValidator<GetForecastReport>
{
    public GetForecastReportValidator()
    {
        RuleFor(x => x.CommitProbability).InclusiveBetween(0, 100).WithMessage("must be between 0 and 100.");
    }
}

public sealed class GetForecastReportHandler(ITenantDbContext db) : IQueryHandler<GetForecastReport, Result<ForecastReportDto>>
{
    public async ValueTask<Result<ForecastReportDto>> Handle(GetForecastReport query, CancellationToken cancellationToken)
    {
        if (await query.CheckReferencesAsync(db, cancellationToken) is { } invalid)
        {
            return invalid;
        }

        var commit = query.CommitProbability ?? GetForecastReport.DefaultCommitProbability;
        var fromDate = query.From;
        var toDate = query.ToDateExclusive();
        var from = query.FromInstant();
        var to = query.ToInstantExclusive();
        var rows = await db.SqlQuery<ForecastRow>($"""
            WITH scope AS (
                SELECT d.amount, d.currency, d.probability, d.status, d.expected_close_date, d.closed_at FROM deals d
                WHERE d.deleted_at IS NULL AND d.amount IS NOT NULL
                  AND ({query.PipelineId}::uuid IS NULL OR d.pipeline_id = {query.PipelineId}::uuid)
                  AND ({query.OwnerId}::uuid IS NULL OR d.owner_id = {query.OwnerId}::uuid)),
            open AS (
                SELECT date_trunc('month', d.expected_close_date)::date AS month, d.currency, count(*)::int AS open_deal_count,
                       sum(d.amount)::bigint AS open_amount,
                       round(sum(d.amount::numeric * d.probability) / 100)::bigint AS weighted_amount,
                       (count(*) FILTER (WHERE d.probability >= {commit}))::int AS commit_deal_count,
                       coalesce(sum(d.amount) FILTER (WHERE d.probability >= {commit}), 0)::bigint AS commit_amount
                FROM scope d
                WHERE d.status = 'open' AND d.expected_close_date IS NOT NULL
                  AND ({fromDate}::date IS NULL OR d.expected_close_date >= {fromDate}::date)
                  AND ({toDate}::date IS NULL OR d.expected_close_date < {toDate}::date)
                GROUP BY 1, 2),
            won AS (
                SELECT date_trunc('month', d.closed_at AT TIME ZONE 'UTC')::date AS month, d.currency,
                       count(*)::int AS won_deal_count, sum(d.amount)::bigint AS won_amount
                FROM scope d
                WHERE d.status = 'won'
                  AND ({from}::timestamptz IS NULL OR d.closed_at >= {from}::timestamptz)
                  AND ({to}::timestamptz IS NULL OR d.closed_at < {to}::timestamptz)
                GROUP BY 1, 2)
            SELECT coalesce(o.month, w.month) AS month, coalesce(o.currency, w.currency) AS currency,
                   coalesce(o.open_deal_count, 0) AS open_deal_count, coalesce(o.open_amount, 0) AS open_amount,
                   coalesce(o.weighted_amount, 0) AS weighted_amount, coalesce(o.commit_deal_count, 0) AS commit_deal_count,
                   coalesce(o.commit_amount, 0) AS commit_amount,
                   coalesce(w.won_deal_count, 0) AS won_deal_count, coalesce(w.won_amount, 0) AS won_amount
            FROM open o FULL JOIN won w ON w.month = o.month AND w.currency = o.currency
            ORDER BY 1, 2
            """).ToListAsync(cancellationToken);

        var items = rows.Select(r => new ForecastMonthDto(
                r.Month.ToString("yyyy-MM", CultureInfo.InvariantCulture), r.Currency, r.OpenDealCount, r.OpenAmount, r.WeightedAmount,
                r.CommitDealCount, r.WonAmount + r.CommitAmount, r.WonDealCount, r.WonAmount))
            .ToList();
        return new ForecastReportDto(commit, items);
    }

    private sealed record ForecastRow(
        DateOnly Month,
        string Currency,
        int OpenDealCount,
        long OpenAmount,
        long WeightedAmount,
        int CommitDealCount,
        long CommitAmount,
        int WonDealCount,
        long WonAmount);
}
