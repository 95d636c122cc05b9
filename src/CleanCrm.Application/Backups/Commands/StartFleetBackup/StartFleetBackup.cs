using CleanCrm.Application.Common.Backups;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;

namespace CleanCrm.Application.Backups.Commands.StartFleetBackup;

/// <summary>Backs up every active or suspended organization now (<c>POST /api/v1/admin/backups</c>).</summary>
[RequiresPlatformAdmin]
public sealed record StartFleetBackup : ICommand<Result<FleetBackupQueued>>;

public sealed record FleetBackupQueued(int Queued);

public sealed class StartFleetBackupHandler(IBackupOperations backups, ICallerContext caller)
    : ICommandHandler<StartFleetBackup, Result<FleetBackupQueued>>
{
    public async ValueTask<Result<FleetBackupQueued>> Handle(StartFleetBackup command, CancellationToken cancellationToken) =>
        new FleetBackupQueued(await backups.QueueFleetBackupAsync(caller.UserId, cancellationToken));
}
