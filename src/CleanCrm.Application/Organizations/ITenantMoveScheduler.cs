namespace CleanCrm.Application.Organizations;

/// <summary>Queues the move of an organization's database to another server (docs/OPERATIONS.md).</summary>
public interface ITenantMoveScheduler
{
    Task ScheduleAsync(Guid organizationId, Guid targetServerId, CancellationToken cancellationToken);
}
