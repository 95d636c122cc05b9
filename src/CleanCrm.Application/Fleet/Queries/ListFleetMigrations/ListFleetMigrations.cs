using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Fleet.Queries.ListFleetMigrations;

/// <summary>Recent fleet (and single-organization) migration jobs, newest first (<c>GET /api/v1/admin/migrations</c>).</summary>
[RequiresPlatformAdmin]
public sealed record ListFleetMigrations(int? Limit = null) : IQuery<Result<FleetMigrationListDto>>;

public sealed class ListFleetMigrationsValidator : AbstractValidator<ListFleetMigrations>
{
    public ListFleetMigrationsValidator() => RuleFor(x => x.Limit).InclusiveBetween(1, 100).WithMessage("must be between 1 and 100.");
}

public sealed class ListFleetMigrationsHandler(IFleetMigrations migrations)
    : IQueryHandler<ListFleetMigrations, Result<FleetMigrationListDto>>
{
    public async ValueTask<Result<FleetMigrationListDto>> Handle(ListFleetMigrations query, CancellationToken cancellationToken) =>
        new FleetMigrationListDto(await migrations.ListRecentAsync(query.Limit ?? 20, cancellationToken));
}
