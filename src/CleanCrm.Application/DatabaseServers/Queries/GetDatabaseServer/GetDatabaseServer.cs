using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;

namespace CleanCrm.Application.DatabaseServers.Queries.GetDatabaseServer;

/// <summary>One registered database server with its tenants and status.</summary>
[RequiresPlatformAdmin]
public sealed record GetDatabaseServer(Guid ServerId) : IQuery<Result<DatabaseServerDto>>;

public sealed class GetDatabaseServerHandler(ICatalogDbContext db) : IQueryHandler<GetDatabaseServer, Result<DatabaseServerDto>>
{
    public async ValueTask<Result<DatabaseServerDto>> Handle(GetDatabaseServer query, CancellationToken cancellationToken) =>
        (await DatabaseServerDto.ListAsync(db, query.ServerId, cancellationToken)).SingleOrDefault() is { } server
            ? server
            : Error.NotFound("Database server", query.ServerId);
}
