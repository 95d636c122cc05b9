namespace CleanCrm.Domain.Catalog;

public enum ProvisioningStatus
{
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// <summary>The steps of a provisioning run, in order. Each is idempotent, so a run resumes at its first unfinished step.</summary>
public static class ProvisioningSteps
{
    public const string Reserve = "reserve";
    public const string CreateRole = "create_role";
    public const string CreateDatabase = "create_database";
    public const string Migrate = "migrate";
    public const string Seed = "seed";
    public const string Activate = "activate";

    public static readonly IReadOnlyList<string> All = [Reserve, CreateRole, CreateDatabase, Migrate, Seed, Activate];
}

/// <summary>One attempt to take an organization from pending to active, persisted step by step in the catalog.</summary>
public sealed class ProvisioningRun
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid OrganizationId { get; set; }

    public ProvisioningStatus Status { get; set; } = ProvisioningStatus.Pending;

    /// <summary>How many times the run has been started (retries and admin retries included).</summary>
    public int Attempt { get; set; }

    public string? Error { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>When the run was last handed to the job queue; the outbox sweeper re-queues runs that never started.</summary>
    public DateTimeOffset? QueuedAt { get; set; }

    public List<ProvisioningStep> Steps { get; set; } = [];

    public static ProvisioningRun For(Guid organizationId, DateTimeOffset now) => new()
    {
        OrganizationId = organizationId,
        CreatedAt = now,
        Steps = [.. ProvisioningSteps.All.Select((name, index) => new ProvisioningStep { Name = name, Position = index })],
    };
}

public sealed class ProvisioningStep
{
    public Guid RunId { get; set; }

    public required string Name { get; set; }

    public int Position { get; set; }

    public ProvisioningStatus Status { get; set; } = ProvisioningStatus.Pending;

    public int Attempt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public string? Error { get; set; }
}
