using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;

namespace CleanCrm.Application.DatabaseServers.Queries.ListDatabaseServers;

/// <summary>Every registered database server with its tenants and status (docs/OPERATIONS.md, "Database servers").</summary>
[RequiresPlatformAdmin]
public sealed record ListDatabaseServers : IQuery<Result<DatabaseServerListDto>>;

public sealed class ListDatabaseServersHandler(ICatalogDbContext db) : IQueryHandler<ListDatabaseServers, Result<DatabaseServerListDto>>
{
    public async ValueTask<Result<DatabaseServerListDto>> Handle(ListDatabaseServers query, CancellationToken cancellationToken) =>
        new DatabaseServerListDto(await DatabaseServerDto.ListAsync(db, null, cancellationToken));
}
