using System.Diagnostics;
using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Application.Common.Ai;

/// <summary>
/// Every model call of the product goes through here: the org's AI tokens are reserved before the call (an upper bound:
/// estimated input + the output cap), the call is made, and the reservation is settled with the usage the provider
/// reported (docs/AI.md, "Metering"). Logs carry sizes and token counts only, never a prompt or a completion.
/// </summary>
public sealed partial class MeteredAiCalls(IAiProvider provider, IUsageMeter meter, ILogger<MeteredAiCalls> logger)
{
    // Tokens a message costs beyond its text (role, separators), and characters per token assumed for the estimate:
    // English averages about 4 per token; 3 keeps the estimate above the real count for ordinary text.
    private const int TokensPerMessage = 8;
    private const int CharactersPerToken = 3;

    /// <summary>The options every call uses: the configured model and output cap, plus <paramref name="tools"/>.</summary>
    public ChatOptions OptionsWith(IList<AITool>? tools = null) => new()
    {
        ModelId = provider.Settings.Model,
        MaxOutputTokens = provider.Settings.MaxOutputTokens,
        Tools = tools,
        ToolMode = tools is { Count: > 0 } ? ChatToolMode.Auto : null,
    };

    /// <summary>Reserves the upper bound of one call; 402 <c>plan_limit_reached</c> when the allowance cannot hold it.</summary>
    public async Task<Result<AiCallReservation>> ReserveAsync(Guid organizationId, string purpose,
        IReadOnlyCollection<ChatMessage> messages, ChatOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(options);
        var promptCharacters = messages.Sum(m => m.Text.Length + m.Contents.OfType<FunctionResultContent>()
            .Sum(r => r.Result?.ToString()?.Length ?? 0) + m.Contents.OfType<FunctionCallContent>()
            .Sum(c => c.Name.Length + (c.Arguments?.Sum(a => a.Key.Length + (a.Value?.ToString()?.Length ?? 0)) ?? 0)));
        var toolCharacters = options.Tools?.OfType<AIFunctionDeclaration>()
            .Sum(t => t.Name.Length + t.Description.Length + t.JsonSchema.GetRawText().Length) ?? 0;
        var estimate = ((long)promptCharacters + toolCharacters + CharactersPerToken - 1) / CharactersPerToken
            + ((long)messages.Count * TokensPerMessage) + (options.MaxOutputTokens ?? provider.Settings.MaxOutputTokens);
        var reserved = await meter.ReserveAsync(organizationId, UsageMetrics.AiTokens, estimate, $"ai:{purpose}:{Guid.CreateVersion7()}",
            cancellationToken);
        if (!reserved.IsSuccess)
        {
            LogRefused(logger, purpose, estimate);
            return reserved.Error!;
        }

        return new AiCallReservation(reserved.Value, promptCharacters, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Replaces the reservation with what the provider reported. Without a report (a stream cut short) the reservation
    /// stands; a call that failed before the provider answered releases it.
    /// </summary>
    public async Task SettleAsync(string purpose, AiCallReservation reservation, UsageDetails? usage, bool failed,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        var input = usage?.InputTokenCount ?? 0;
        var output = usage?.OutputTokenCount ?? 0;
        var actual = usage?.TotalTokenCount ?? (input + output);
        var charged = usage is not null ? actual : failed ? 0 : reservation.Usage.Quantity;
        // Settling must happen even when the caller has gone away, or the reservation would stay counted.
        await meter.SettleAsync(reservation.Usage, charged, CancellationToken.None);
        LogCall(logger, purpose, reservation.PromptCharacters, input, output, reservation.Usage.Quantity, charged,
            Stopwatch.GetElapsedTime(reservation.StartedAt).TotalMilliseconds);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "AI call {Purpose}: prompt {PromptCharacters} chars, {InputTokens} input + {OutputTokens} output tokens "
            + "(reserved {ReservedTokens}, charged {ChargedTokens}) in {ElapsedMs:0} ms")]
    private static partial void LogCall(ILogger logger, string purpose, int promptCharacters, long inputTokens, long outputTokens,
        long reservedTokens, long chargedTokens, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "AI call {Purpose} refused: {ReservedTokens} tokens do not fit the allowance")]
    private static partial void LogRefused(ILogger logger, string purpose, long reservedTokens);
}

/// <summary>A reserved model call: the usage reservation and what the log line needs.</summary>
public sealed record AiCallReservation(UsageReservation Usage, int PromptCharacters, long StartedAt);
