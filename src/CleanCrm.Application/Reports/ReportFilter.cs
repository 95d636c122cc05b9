using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Reports;

/// <summary>The filters every report takes (docs/REPORTS.md): a pipeline, an owner and an inclusive range of UTC dates.</summary>
public interface IReportFilter
{
    Guid? PipelineId { get; }

    Guid? OwnerId { get; }

    DateOnly? From { get; }

    DateOnly? To { get; }
}

public static class ReportFilters
{
    /// <summary>Start of <see cref="IReportFilter.From"/> (00:00 UTC), or null when open-ended.</summary>
    public static DateTimeOffset? FromInstant(this IReportFilter filter) =>
        filter.From is { } from ? new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null;

    /// <summary>End of <see cref="IReportFilter.To"/>, exclusive (00:00 UTC of the next day), or null when open-ended.</summary>
    public static DateTimeOffset? ToInstantExclusive(this IReportFilter filter) =>
        filter.To is { } to ? new DateTimeOffset(to.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null;

    /// <summary>The day after <see cref="IReportFilter.To"/>, for date columns compared with <c>&lt;</c>.</summary>
    public static DateOnly? ToDateExclusive(this IReportFilter filter) => filter.To?.AddDays(1);

    /// <summary>
    /// The pipeline and owner must be this organization's: a pipeline, even a deleted one (its closed deals stay in
    /// reports), and a member, even a deactivated one (their closed deals stay theirs). Anything else is a 400 naming
    /// the parameter, so another organization's ids yield nothing about it.
    /// </summary>
    public static async Task<Error?> CheckReferencesAsync(
        this IReportFilter filter, ITenantDbContext db, CancellationToken cancellationToken)
    {
        if (filter.PipelineId is { } pipelineId && !await db.Pipelines.AnyAsync(p => p.Id == pipelineId, cancellationToken))
        {
            return CrmReferences.InvalidReference(
                "pipelineId", $"pipelineId '{pipelineId}' does not name a pipeline of this organization.");
        }

        if (filter.OwnerId is { } ownerId && !await db.Members.AnyAsync(m => m.Id == ownerId, cancellationToken))
        {
            return CrmReferences.InvalidReference("ownerId", $"ownerId '{ownerId}' is not a member of this organization.");
        }

        return null;
    }
}

/// <summary>The rules the filters share: ids are not the empty UUID, the range does not end before it starts.</summary>
public abstract class ReportFilterValidator<T> : AbstractValidator<T>
    where T : IReportFilter
{
    protected ReportFilterValidator()
    {
        RuleFor(x => x.PipelineId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.").OverridePropertyName("pipelineId");
        RuleFor(x => x.OwnerId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.").OverridePropertyName("ownerId");
        RuleFor(x => x.To).Must((filter, to) => filter.From is null || to is null || to >= filter.From)
            .WithMessage("must not be before from.").OverridePropertyName("to");
        RuleFor(x => x.From).Must(from => from is null || from.Value.Year >= 1900).WithMessage("must be 1900-01-01 or later.")
            .OverridePropertyName("from");
        RuleFor(x => x.To).Must(to => to is null || to.Value.Year <= 9998).WithMessage("must be 9998-12-31 or earlier.")
            .OverridePropertyName("to");
    }
}
