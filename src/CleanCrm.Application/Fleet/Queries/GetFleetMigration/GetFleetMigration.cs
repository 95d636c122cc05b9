using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;

namespace CleanCrm.Application.Fleet.Queries.GetFleetMigration;

[RequiresPlatformAdmin]
public sealed record GetFleetMigration(string JobId) : IQuery<Result<FleetMigrationStatusDto>>;

public sealed class GetFleetMigrationHandler(IFleetMigrations migrations)
    : IQueryHandler<GetFleetMigration, Result<FleetMigrationStatusDto>>
{
    public async ValueTask<Result<FleetMigrationStatusDto>> Handle(GetFleetMigration query, CancellationToken cancellationToken) =>
        await migrations.GetAsync(query.JobId, cancellationToken) is { } status ? status : Error.NotFound("Fleet migration", query.JobId);
}
