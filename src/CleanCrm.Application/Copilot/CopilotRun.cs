using CleanCrm.Application.Common.Ai;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Application.Copilot;

/// <summary>Receives the copilot's progress: text as it is generated and each tool the model calls.</summary>
public interface ICopilotEventSink
{
    ValueTask OnDeltaAsync(string text, CancellationToken cancellationToken);

    ValueTask OnToolAsync(CopilotToolCall call, CancellationToken cancellationToken);
}

/// <summary>
/// One accepted copilot message, ready to run: the first model call is already reserved (so 402 was answered before
/// anything streamed). Each round calls the model, runs the tools it asks for as the caller, and reserves the next
/// call; the answer is stored in the conversation with the tokens all rounds cost.
/// </summary>
public sealed partial class CopilotRun
{
    private readonly RunContext _context;
    private readonly List<ChatMessage> _messages;
    private AiCallReservation? _reservation;

    internal CopilotRun(RunContext context, List<ChatMessage> messages, AiCallReservation reservation)
    {
        _context = context;
        _messages = messages;
        _reservation = reservation;
    }

    public Guid ConversationId => _context.Conversation.Id;

    internal sealed record RunContext(
        Guid OrganizationId,
        CopilotConversation Conversation,
        IAiProvider Provider,
        MeteredAiCalls Calls,
        CopilotTools Tools,
        ITenantDbContext Db,
        TimeProvider Clock,
        ILogger Logger,
        bool Stream);

    public async Task<Result<CopilotAnswer>> ExecuteAsync(ICopilotEventSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var toolCalls = new List<CopilotToolCall>();
        long input = 0, output = 0, total = 0;
        var maxRounds = _context.Provider.Settings.MaxToolRounds + 1;
        string? answer = null;
        for (var round = 1; round <= maxRounds && answer is null; round++)
        {
            // The last round offers no tools, so the model has to answer with what it has.
            var options = _context.Calls.OptionsWith(round < maxRounds ? CopilotTools.Declarations : null);
            if (_reservation is null)
            {
                var reserved = await _context.Calls.ReserveAsync(_context.OrganizationId, "copilot", _messages, options, cancellationToken);
                if (!reserved.IsSuccess)
                {
                    return reserved.Error!;
                }

                _reservation = reserved.Value;
            }

            var call = await CallAsync(sink, options, cancellationToken);
            if (!call.IsSuccess)
            {
                return call.Error!;
            }

            var response = call.Value;
            input += response.Usage?.InputTokenCount ?? 0;
            output += response.Usage?.OutputTokenCount ?? 0;
            total += response.Usage?.TotalTokenCount ?? ((response.Usage?.InputTokenCount ?? 0) + (response.Usage?.OutputTokenCount ?? 0));
            _messages.AddRange(response.Messages);
            var requested = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
            if (requested.Count == 0 || round == maxRounds)
            {
                answer = response.Text;
                break;
            }

            foreach (var function in requested)
            {
                var shown = new CopilotToolCall(function.Name,
                    new Dictionary<string, object?>(function.Arguments ?? new Dictionary<string, object?>(), StringComparer.Ordinal));
                toolCalls.Add(shown);
                await sink.OnToolAsync(shown, cancellationToken);
                var result = await _context.Tools.InvokeAsync(function, cancellationToken);
                _messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(function.CallId, result)]));
            }
        }

        var now = _context.Clock.GetUtcNow();
        var message = new CopilotMessage
        {
            ConversationId = _context.Conversation.Id,
            Role = CopilotMessageRole.Assistant,
            Content = answer ?? string.Empty,
            InputTokens = input,
            OutputTokens = output,
            CreatedAt = now,
        };
        _context.Db.CopilotMessages.Add(message);
        _context.Conversation.UpdatedAt = now;
        await _context.Db.SaveChangesAsync(CancellationToken.None);
        LogAnswered(_context.Logger, toolCalls.Count, message.Content.Length, input, output);
        return new CopilotAnswer(_context.Conversation.Id, message.Id, message.Content, toolCalls, new CopilotUsage(input, output, total));
    }

    /// <summary>One model call, settled with the usage the provider reported (released when the provider failed).</summary>
    private async Task<Result<ChatResponse>> CallAsync(ICopilotEventSink sink, ChatOptions options, CancellationToken cancellationToken)
    {
        var reservation = _reservation!;
        _reservation = null;
        ChatResponse? response = null;
        var failed = false;
        try
        {
            if (!_context.Stream)
            {
                response = await _context.Provider.ChatClient.GetResponseAsync(_messages, options, cancellationToken);
                return response;
            }

            var updates = new List<ChatResponseUpdate>();
            await foreach (var update in _context.Provider.ChatClient.GetStreamingResponseAsync(_messages, options, cancellationToken))
            {
                updates.Add(update);
                if (update.Text is { Length: > 0 } text)
                {
                    await sink.OnDeltaAsync(text, cancellationToken);
                }
            }

            response = updates.ToChatResponse();
            return response;
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            failed = true;
            LogProviderFailed(_context.Logger, exception.GetType().Name);
            return AiErrors.ProviderFailedError();
        }
        finally
        {
            await _context.Calls.SettleAsync("copilot", reservation, response?.Usage, failed, CancellationToken.None);
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Copilot answered after {ToolCalls} tool calls: {AnswerCharacters} chars, "
            + "{InputTokens} input + {OutputTokens} output tokens")]
    private static partial void LogAnswered(ILogger logger, int toolCalls, int answerCharacters, long inputTokens, long outputTokens);

    // The exception's message may quote the provider's answer; only its type is logged.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Copilot: the AI provider failed ({ExceptionType})")]
    private static partial void LogProviderFailed(ILogger logger, string exceptionType);
}
