using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Fleet.Commands.StartFleetMigration;

public sealed record StartFleetMigrationFields
{
    public int? Parallelism { get; init; }

    /// <summary>Back up each tenant before migrating it (null: the deployment's <c>CleanCrm:Backups:BeforeMigration</c>).</summary>
    public bool? SafetyBackup { get; init; }
}

/// <summary>
/// Migrates the catalog, the templates and every tenant that is behind (<c>POST /api/v1/admin/migrations</c>, docs/OPERATIONS.md).
/// </summary>
[RequiresPlatformAdmin]
public sealed record StartFleetMigration(StartFleetMigrationFields Fields) : ICommand<Result<FleetMigrationStatusDto>>;

public sealed class StartFleetMigrationValidator : AbstractValidator<StartFleetMigration>
{
    public StartFleetMigrationValidator() =>
        RuleFor(x => x.Fields.Parallelism).InclusiveBetween(1, 64).WithMessage("must be between 1 and 64.")
            .OverridePropertyName("parallelism");
}

public sealed class StartFleetMigrationHandler(IFleetMigrations migrations)
    : ICommandHandler<StartFleetMigration, Result<FleetMigrationStatusDto>>
{
    public async ValueTask<Result<FleetMigrationStatusDto>> Handle(StartFleetMigration command, CancellationToken cancellationToken)
    {
        var jobId = await migrations.StartAsync(command.Fields.Parallelism, command.Fields.SafetyBackup, cancellationToken);
        return await migrations.GetAsync(jobId, cancellationToken)
            ?? new FleetMigrationStatusDto(jobId, "enqueued", null, null) { SafetyBackup = command.Fields.SafetyBackup };
    }
}
