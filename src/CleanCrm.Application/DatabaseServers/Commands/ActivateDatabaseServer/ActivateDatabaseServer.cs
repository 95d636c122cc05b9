using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using Mediator;

namespace CleanCrm.Application.DatabaseServers.Commands.ActivateDatabaseServer;

/// <summary>Puts a drained (or offline) server back into placement (docs/OPERATIONS.md, "Database servers").</summary>
[RequiresPlatformAdmin]
public sealed record ActivateDatabaseServer(Guid ServerId) : ICommand<Result<DatabaseServerDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => null;

    string? IPlatformAuditedRequest.AuditReason => null;

    Guid? IPlatformAuditedRequest.AuditTargetId => ServerId;
}

public sealed class ActivateDatabaseServerHandler(ICatalogDbContext db, TimeProvider clock)
    : ICommandHandler<ActivateDatabaseServer, Result<DatabaseServerDto>>
{
    public async ValueTask<Result<DatabaseServerDto>> Handle(ActivateDatabaseServer command, CancellationToken cancellationToken) =>
        await DatabaseServerStatusChange.SetAsync(
            db, command.ServerId, DatabaseServerStatus.Active, clock.GetUtcNow(), cancellationToken);
}
