using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Copilot;

public sealed record CopilotConversationDto(Guid Id, string Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static CopilotConversationDto From(CopilotConversation c) => new(c.Id, c.Title, c.CreatedAt, c.UpdatedAt);
}

public sealed record CopilotConversationDetailDto(
    Guid Id,
    string Title,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<CopilotMessageDto> Messages);

public sealed record CopilotMessageDto(Guid Id, CopilotMessageRole Role, string Content, long InputTokens, long OutputTokens,
    DateTimeOffset CreatedAt)
{
    public static CopilotMessageDto From(CopilotMessage m) => new(m.Id, m.Role, m.Content, m.InputTokens, m.OutputTokens, m.CreatedAt);
}

/// <summary>What the model asked a tool for, as shown to the caller (the <c>tool</c> event).</summary>
public sealed record CopilotToolCall(string Name, IReadOnlyDictionary<string, object?> Arguments);

public sealed record CopilotUsage(long InputTokens, long OutputTokens, long TotalTokens);

/// <summary>The copilot's answer: the JSON body, or the <c>done</c> event of the stream (without the text).</summary>
public sealed record CopilotAnswer(Guid ConversationId, Guid MessageId, string Content, IReadOnlyList<CopilotToolCall> ToolCalls,
    CopilotUsage Usage);

public static class CopilotCaller
{
    /// <summary>Conversations belong to a person: an API client (no user) gets 403.</summary>
    public static Result<Guid> UserOf(ICallerContext caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.UserId is { } userId
            ? userId
            : Error.Forbidden(ErrorCodes.Forbidden, "Copilot conversations belong to a signed-in user; an API client has none.");
    }
}
