using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Mediator;

namespace CleanCrm.Application.DatabaseServers.Commands.DrainDatabaseServer;

/// <summary>
/// Stops placing new tenants on a server: its tenants stay and keep working, but provisioning, moves and restores no
/// longer choose it as a target (docs/OPERATIONS.md, "Database servers").
/// </summary>
[RequiresPlatformAdmin]
public sealed record DrainDatabaseServer(Guid ServerId) : ICommand<Result<DatabaseServerDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => null;

    string? IPlatformAuditedRequest.AuditReason => null;

    Guid? IPlatformAuditedRequest.AuditTargetId => ServerId;
}

public sealed class DrainDatabaseServerHandler(ICatalogDbContext db, TimeProvider clock)
    : ICommandHandler<DrainDatabaseServer, Result<DatabaseServerDto>>
{
    public async ValueTask<Result<DatabaseServerDto>> Handle(DrainDatabaseServer command, CancellationToken cancellationToken) =>
        await DatabaseServerStatusChange.SetAsync(
            db, command.ServerId, DatabaseServerStatus.Draining, clock.GetUtcNow(), cancellationToken);
}
