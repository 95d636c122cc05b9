using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Fleet;

/// <summary>Queues fleet migrations and reads their progress (implemented over the job system).</summary>
public interface IFleetMigrations
{
    Task<string> StartAsync(int? parallelism, CancellationToken cancellationToken);

    Task<FleetMigrationStatusDto?> GetAsync(string jobId, CancellationToken cancellationToken);
}

public sealed record FleetMigrationStatusDto(string JobId, string State, string? Progress, string? Report);

public sealed record StartFleetMigrationFields
{
    public int? Parallelism { get; init; }
}

/// <summary>Migrates the catalog, the templates and every tenant that is behind (SPEC §6.4 <c>POST /api/v1/admin/migrations</c>).</summary>
[RequiresPlatformAdmin]
public sealed record StartFleetMigration(StartFleetMigrationFields Fields) : ICommand<Result<FleetMigrationStatusDto>>;

public sealed class StartFleetMigrationValidator : AbstractValidator<StartFleetMigration>
{
    public StartFleetMigrationValidator() =>
        RuleFor(x => x.Fields.Parallelism).InclusiveBetween(1, 64).WithMessage("must be between 1 and 64.").OverridePropertyName("parallelism");
}

public sealed class StartFleetMigrationHandler(IFleetMigrations migrations) : ICommandHandler<StartFleetMigration, Result<FleetMigrationStatusDto>>
{
    public async ValueTask<Result<FleetMigrationStatusDto>> Handle(StartFleetMigration command, CancellationToken cancellationToken)
    {
        var jobId = await migrations.StartAsync(command.Fields.Parallelism, cancellationToken);
        return await migrations.GetAsync(jobId, cancellationToken) ?? new FleetMigrationStatusDto(jobId, "enqueued", null, null);
    }
}

[RequiresPlatformAdmin]
public sealed record GetFleetMigration(string JobId) : IQuery<Result<FleetMigrationStatusDto>>;

public sealed class GetFleetMigrationHandler(IFleetMigrations migrations) : IQueryHandler<GetFleetMigration, Result<FleetMigrationStatusDto>>
{
    public async ValueTask<Result<FleetMigrationStatusDto>> Handle(GetFleetMigration query, CancellationToken cancellationToken) =>
        await migrations.GetAsync(query.JobId, cancellationToken) is { } status ? status : Error.NotFound("Fleet migration", query.JobId);
}
