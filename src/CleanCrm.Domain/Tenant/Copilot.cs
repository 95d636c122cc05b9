namespace CleanCrm.Domain.Tenant;

/// <summary>
/// One user's conversation with the copilot. Not a <c>TenantEntity</c>: conversations are private to their user and kept
/// out of the org's audit log, which would otherwise copy every prompt and answer (docs/AI.md).
/// </summary>
public sealed class CopilotConversation
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    /// <summary>The member who owns it; nobody else (not even an owner of the org) may read or delete it.</summary>
    public Guid UserId { get; set; }

    public required string Title { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public List<CopilotMessage> Messages { get; set; } = [];
}

public enum CopilotMessageRole
{
    User,
    Assistant,
}

/// <summary>A turn of a conversation: the user's message or the copilot's final answer with the tokens it cost.</summary>
public sealed class CopilotMessage
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid ConversationId { get; set; }

    public CopilotMessageRole Role { get; set; }

    public required string Content { get; set; }

    /// <summary>Input tokens of every model call that produced this answer (tool rounds included); 0 on user messages.</summary>
    public long InputTokens { get; set; }

    public long OutputTokens { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
