using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Reports.Queries.GetActivityReport;

/// <summary>
/// One member's week (Monday, UTC): activities they logged (by type) and meetings they attended. A null member is the
/// activities without an actor.
/// </summary>
public sealed record ActivityWeekDto(
    Guid? MemberId, DateOnly WeekStart, int Activities, IReadOnlyDictionary<string, int> ActivitiesByType, int Meetings);

public sealed record ActivityReportDto(IReadOnlyList<ActivityWeekDto> Items);

/// <summary>Activities and meetings per member per week (docs/REPORTS.md).</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.AdvancedReporting)]
public sealed record GetActivityReport(Guid? PipelineId = null, Guid? OwnerId = null, DateOnly? From = null, DateOnly? To = null)
    : IQuery<Result<ActivityReportDto>>, IOrgScopedRequest, IReportFilter;

public sealed class GetActivityReportValidator : ReportFilterValidator<GetActivityReport>;

public sealed class GetActivityReportHandler(ITenantDbContext db) : IQueryHandler<GetActivityReport, Result<ActivityReportDto>>
{
    public async ValueTask<Result<ActivityReportDto>> Handle(GetActivityReport query, CancellationToken cancellationToken)
    {
        if (await query.CheckReferencesAsync(db, cancellationToken) is { } invalid)
        {
            return invalid;
        }

        var from = query.FromInstant();
        var to = query.ToInstantExclusive();
        // With a pipeline, only what is attached to a deal of that pipeline counts.
        var rows = await db.SqlQuery<ActivityRow>($"""
            SELECT a.actor_id AS member_id, date_trunc('week', a.occurred_at AT TIME ZONE 'UTC')::date AS week_start,
                   a.type, count(*)::int AS count
            FROM activities a
            WHERE a.deleted_at IS NULL
              AND ({query.OwnerId}::uuid IS NULL OR a.actor_id = {query.OwnerId}::uuid)
              AND ({from}::timestamptz IS NULL OR a.occurred_at >= {from}::timestamptz)
              AND ({to}::timestamptz IS NULL OR a.occurred_at < {to}::timestamptz)
              AND ({query.PipelineId}::uuid IS NULL OR a.deal_id IN (
                  SELECT d.id FROM deals d WHERE d.pipeline_id = {query.PipelineId}::uuid AND d.deleted_at IS NULL))
            GROUP BY 1, 2, 3
            UNION ALL
            SELECT ma.member_id, date_trunc('week', m.starts_at AT TIME ZONE 'UTC')::date, NULL, count(DISTINCT m.id)::int
            FROM meetings m JOIN meeting_attendees ma ON ma.meeting_id = m.id AND ma.deleted_at IS NULL AND ma.member_id IS NOT NULL
            WHERE m.deleted_at IS NULL
              AND ({query.OwnerId}::uuid IS NULL OR ma.member_id = {query.OwnerId}::uuid)
              AND ({from}::timestamptz IS NULL OR m.starts_at >= {from}::timestamptz)
              AND ({to}::timestamptz IS NULL OR m.starts_at < {to}::timestamptz)
              AND ({query.PipelineId}::uuid IS NULL OR m.deal_id IN (
                  SELECT d.id FROM deals d WHERE d.pipeline_id = {query.PipelineId}::uuid AND d.deleted_at IS NULL))
            GROUP BY 1, 2
            """).ToListAsync(cancellationToken);

        var items = rows.GroupBy(r => (r.MemberId, r.WeekStart))
            .Select(g =>
            {
                var byType = g.Where(r => r.Type is not null)
                    .OrderBy(r => r.Type, StringComparer.Ordinal)
                    .ToDictionary(r => r.Type!, r => r.Count, StringComparer.Ordinal);
                return new ActivityWeekDto(g.Key.MemberId, g.Key.WeekStart, byType.Values.Sum(), byType,
                    g.Where(r => r.Type is null).Sum(r => r.Count));
            })
            .OrderBy(w => w.WeekStart).ThenBy(w => w.MemberId is null).ThenBy(w => w.MemberId)
            .ToList();
        return new ActivityReportDto(items);
    }

    private sealed record ActivityRow(Guid? MemberId, DateOnly WeekStart, string? Type, int Count);
}
