using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Reports.Queries.GetActivityReport;
using CleanCrm.Application.Reports.Queries.GetForecastReport;
using CleanCrm.Application.Reports.Queries.GetPipelineReport;
using CleanCrm.Application.Reports.Queries.GetRevenueByOwnerReport;
using CleanCrm.Application.Reports.Queries.GetWinRateReport;
using Mediator;

namespace CleanCrm.Api.Endpoints;

/// <summary>Advanced reports (docs/REPORTS.md): premium (advanced_reporting), CRM read, computed in the tenant database.</summary>
public static class ReportsEndpoints
{
    private const string Filters = " Filters: pipelineId, ownerId, from and to (inclusive UTC dates). Amounts are per currency. "
        + "Premium (advanced_reporting): 403 feature_disabled otherwise.";

    public static IEndpointRouteBuilder MapReports(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/reports").WithTags("Reports").RequireAuthorization().RequireOrg().WithCrmProblems();

        group.MapGet("/pipeline", async ([AsParameters] ReportParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetPipelineReport(p.PipelineId, p.OwnerId, p.From, p.To), ct)))
            .WithName("Reports_Pipeline")
            .WithSummary("Pipeline by stage")
            .WithDescription("Open deals per open stage: count, amount, weighted amount (amount x probability) and average days in "
                + "the stage; from/to select deals by creation date." + Filters)
            .Produces<PipelineReportDto>();

        group.MapGet("/forecast", async ([AsParameters] ForecastParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetForecastReport(p.PipelineId, p.OwnerId, p.From, p.To, p.CommitProbability), ct)))
            .WithName("Reports_Forecast")
            .WithSummary("Forecast by month")
            .WithDescription("Per month and currency: open deals by expected close date (amount and weighted), deals won by close "
                + "date, and committed (won plus open deals at or above commitProbability, default 90)." + Filters)
            .Produces<ForecastReportDto>();

        group.MapGet("/win-rate", async ([AsParameters] ReportParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetWinRateReport(p.PipelineId, p.OwnerId, p.From, p.To), ct)))
            .WithName("Reports_WinRate")
            .WithSummary("Win rate")
            .WithDescription("Deals closed in the range, won and lost, with the win rate and the average sales cycle of the won ones, "
                + "in total, by owner, by pipeline and by month of closing." + Filters)
            .Produces<WinRateReportDto>();

        group.MapGet("/revenue-by-owner", async ([AsParameters] ReportParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetRevenueByOwnerReport(p.PipelineId, p.OwnerId, p.From, p.To), ct)))
            .WithName("Reports_RevenueByOwner")
            .WithSummary("Revenue by owner")
            .WithDescription("Revenue of deals won in the range, credited to members by the deals' revenue splits (the owner when a "
                + "deal has none), overlay credit apart; ownerId selects the credited member." + Filters)
            .Produces<RevenueByOwnerReportDto>();

        group.MapGet("/activity", async ([AsParameters] ReportParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetActivityReport(p.PipelineId, p.OwnerId, p.From, p.To), ct)))
            .WithName("Reports_Activity")
            .WithSummary("Activity per member and week")
            .WithDescription("Activities logged (by actor, per type) and meetings attended (by member attendee) per ISO week; "
                + "pipelineId keeps what is attached to a deal of that pipeline." + Filters)
            .Produces<ActivityReportDto>();

        return app;
    }

    public sealed record ReportParameters(Guid? PipelineId, Guid? OwnerId, DateOnly? From, DateOnly? To);

    public sealed record ForecastParameters(Guid? PipelineId, Guid? OwnerId, DateOnly? From, DateOnly? To, int? CommitProbability);
}
