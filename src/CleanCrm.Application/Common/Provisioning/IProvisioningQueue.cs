namespace CleanCrm.Application.Common.Provisioning;

/// <summary>Hands a persisted provisioning run to the worker. Best effort: the run row is the outbox, a sweeper re-queues.</summary>
public interface IProvisioningQueue
{
    Task EnqueueAsync(Guid runId, CancellationToken cancellationToken);
}

/// <summary>Hashes passwords (ASP.NET Core Identity's PBKDF2 format), so the identity issue can verify them unchanged.</summary>
public interface IPasswordHashing
{
    string Hash(string password);

    bool Verify(string hash, string password);
}
