namespace CleanCrm.Application.Organizations;

/// <summary>Schedules the removal of an organization's database, role and secret after the grace period.</summary>
public interface IOrganizationDeletionScheduler
{
    Task ScheduleAsync(Guid organizationId, CancellationToken cancellationToken);

    /// <summary>How long after being marked deleting an organization's database is dropped.</summary>
    TimeSpan GracePeriod { get; }
}
