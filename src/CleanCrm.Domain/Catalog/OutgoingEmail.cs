namespace CleanCrm.Domain.Catalog;

public enum OutgoingEmailStatus
{
    Pending,
    Sent,
    Failed,
}

/// <summary>
/// The email outbox: written in the same transaction as the change that causes the mail, sent by a queue job. The body
/// (which may carry a one-time token) is encrypted at rest and erased once the message is sent or given up.
/// </summary>
public sealed class OutgoingEmail
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    /// <summary>What the mail is about (<c>invitation</c>, <c>welcome</c>, …), for operators.</summary>
    public required string Kind { get; set; }

    public Guid? OrganizationId { get; set; }

    public required string ToAddress { get; set; }

    public required string Subject { get; set; }

    /// <summary>Data Protection–encrypted text and HTML bodies; <c>null</c> once the message is no longer needed.</summary>
    public string? ProtectedBody { get; set; }

    public OutgoingEmailStatus Status { get; set; }

    public int Attempts { get; set; }

    public string? LastError { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>
    /// When the message was last handed to the job queue or, after a failed attempt, when its retry is due (the sweeper
    /// re-queues pending rows that stay past this by <c>RequeueAfterSeconds</c>).
    /// </summary>
    public DateTimeOffset? QueuedAt { get; set; }

    public DateTimeOffset? SentAt { get; set; }
}
