namespace CleanCrm.Domain.Catalog;

public enum DatabaseServerStatus
{
    Active,
    Draining,
    Offline,
}

/// <summary>A PostgreSQL server that hosts tenant databases. Its admin password lives only in the secret store.</summary>
public sealed class DatabaseServer
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Name { get; set; }

    public required string Host { get; set; }

    public int Port { get; set; } = 5432;

    public required string AdminUsername { get; set; }

    /// <summary>Name of the secret that holds the admin password.</summary>
    public required string AdminSecretName { get; set; }

    /// <summary>How many tenant databases this server may hold.</summary>
    public int Capacity { get; set; } = 1000;

    public DatabaseServerStatus Status { get; set; } = DatabaseServerStatus.Active;

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
