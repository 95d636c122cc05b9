using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Pipelines;

/// <summary>A stage as a client sends it (create a pipeline, add a stage); <c>position</c> only when adding one.</summary>
public sealed record PipelineStageBody(string? Name, int? Probability, StageKind? Kind, int? Position = null);

/// <summary>The writable fields of a stage (the merge-patch model of <c>PATCH …/stages/{stageId}</c>).</summary>
public sealed record PipelineStageFields(string? Name, int? Probability, StageKind? Kind);

/// <summary>The writable fields of a pipeline (the merge-patch model of <c>PATCH /api/v1/pipelines/{id}</c>).</summary>
public sealed record PipelineFields(string? Name, bool? IsDefault);

public sealed class PipelineStageFieldsValidator : AbstractValidator<PipelineStageFields>
{
    public PipelineStageFieldsValidator() => PipelineStageRules.Add(this, f => new PipelineStageBody(f.Name, f.Probability, f.Kind));
}

/// <summary>The rules of a stage body, shared by creating a pipeline and adding a stage.</summary>
internal static class PipelineStageRules
{
    public static void Add<T>(AbstractValidator<T> validator, Func<T, PipelineStageBody> body)
    {
        validator.RuleFor(x => body(x).Name).NotEmpty().WithMessage("is required.").MaximumLength(100)
            .WithMessage("must be at most 100 characters.").OverridePropertyName("name");
        validator.RuleFor(x => body(x).Probability).NotNull().WithMessage("is required.").InclusiveBetween(0, 100)
            .WithMessage("must be between 0 and 100.").OverridePropertyName("probability");
        validator.RuleFor(x => body(x).Kind).NotNull().WithMessage("is required (open, won or lost).").IsInEnum()
            .WithMessage("must be open, won or lost.").OverridePropertyName("kind");
    }

    public static void Add(InlineValidator<PipelineStageBody> validator) => Add(validator, x => x);
}

public sealed class PipelineFieldsValidator : AbstractValidator<PipelineFields>
{
    public PipelineFieldsValidator()
    {
        RuleFor(x => x.Name).NotEmpty().WithMessage("is required.").MaximumLength(100).WithMessage("must be at most 100 characters.")
            .OverridePropertyName("name");
        RuleFor(x => x.IsDefault).NotNull().WithMessage("must be true or false.").OverridePropertyName("isDefault");
    }
}

/// <summary>
/// What every pipeline and stage write shares (docs/API.md "Pipelines"): the pipeline is the unit of concurrency — its
/// ETag covers its stages, every stage write touches it, so two admins reshaping one pipeline cannot interleave.
/// </summary>
internal static class PipelineWrites
{
    public const string Resource = "Pipeline";
    public const int MaxStages = 30;
    public const string NameIndex = "ux_pipelines_name";

    /// <summary>The live pipeline with every stage (deleted ones too, for their positions), tracked; 404 or 412.</summary>
    public static async Task<Result<Pipeline>> LoadAsync(ITenantDbContext db, Guid id, uint? ifMatch, CancellationToken cancellationToken)
    {
        var pipeline = await db.Pipelines.Include(p => p.Stages)
            .FirstOrDefaultAsync(p => p.Id == id && p.DeletedAt == null, cancellationToken);
        if (pipeline is null)
        {
            return Error.NotFound(Resource, id);
        }

        if (ifMatch is { } expected && expected != pipeline.Version)
        {
            return CrmRecords.Stale(Resource, id);
        }

        db.ExpectVersion(pipeline, ifMatch ?? pipeline.Version);
        return pipeline;
    }

    public static List<PipelineStage> Live(Pipeline pipeline) =>
        [.. pipeline.Stages.Where(s => s.DeletedAt == null).OrderBy(s => s.Position)];

    /// <summary>Gives the live stages, in the given order, positions 0..n-1 (the unique check is deferred to commit).</summary>
    public static void Number(IEnumerable<PipelineStage> ordered, WriteStamp stamp)
    {
        var position = 0;
        foreach (var stage in ordered)
        {
            if (stage.Position != position)
            {
                stage.Position = position;
                stamp.Touch(stage);
            }

            position++;
        }
    }

    /// <summary>A position no stage of the pipeline holds, below every live one, for a stage being deleted.</summary>
    public static int RetiredPosition(Pipeline pipeline) => Math.Min(-1, pipeline.Stages.Min(s => s.Position) - 1);

    /// <summary>Stage names are unique within a pipeline (case-insensitive), so a sales team can tell them apart.</summary>
    public static Error? DuplicateStageName(IEnumerable<PipelineStage> stages, string name, string field, Guid? except = null) =>
        stages.Any(s => s.Id != except && string.Equals(s.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
            ? Error.Validation(field, $"The pipeline already has a stage named '{name.Trim()}'.")
            : null;

    /// <summary>A pipeline must keep an open stage: deals are created in its first open stage.</summary>
    public static Error? WithoutOpenStage(IEnumerable<PipelineStage> live) => live.Any(s => s.Kind == StageKind.Open)
        ? null
        : Error.Conflict(ErrorCodes.Conflict, "A pipeline must keep at least one open stage: new deals start in its first open stage.");

    /// <summary>Saves; a pipeline name another live pipeline holds is a 409 naming the field.</summary>
    public static Task<Error?> SaveAsync(ITenantDbContext db, Guid id, string name, CancellationToken cancellationToken) =>
        CrmRecords.SaveAsync(db, Resource, id, exception => exception.Kind == ConstraintKind.Unique && exception.ConstraintName == NameIndex
            ? CrmRecords.Duplicate("name", $"A pipeline named '{name}' already exists.", "is already used by another pipeline.")
            : null, cancellationToken);

    /// <summary>Moves live deals into a stage (history recorded per deal, as a stage move is); answers how many moved.</summary>
    public static async Task<int> MoveDealsAsync(ITenantDbContext db, IQueryable<Deal> deals, PipelineStage target, WriteStamp stamp,
        CancellationToken cancellationToken)
    {
        var moving = await deals.Where(d => d.DeletedAt == null).ToListAsync(cancellationToken);
        foreach (var deal in moving)
        {
            Deals.DealStages.Enter(db, deal, target, deal.StageId, null, stamp);
            stamp.Touch(deal);
        }

        return moving.Count;
    }
}
