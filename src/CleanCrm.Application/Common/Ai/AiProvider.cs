using CleanCrm.Application.Common.Results;
using Microsoft.Extensions.AI;

namespace CleanCrm.Application.Common.Ai;

/// <summary>
/// The configured chat model (docs/AI.md). Only Infrastructure knows which provider stands behind
/// <see cref="ChatClient"/>; use cases see <see cref="IChatClient"/> and go through <see cref="MeteredAiCalls"/>.
/// </summary>
public interface IAiProvider
{
    /// <summary>False when no endpoint/model is configured: AI routes answer 503 <c>ai_not_configured</c>.</summary>
    bool IsConfigured { get; }

    /// <summary>The client; only valid when <see cref="IsConfigured"/>.</summary>
    IChatClient ChatClient { get; }

    AiSettings Settings { get; }

    /// <summary>
    /// True when a failed call may succeed later: no answer in time, no connection, or 408, 429 or 5xx from the provider
    /// (after the client's own retries). A refusal of the request itself (400, 401, 403, 404) is not.
    /// </summary>
    bool IsTransient(Exception exception);
}

/// <summary>The model and the bounds every call is made with.</summary>
public sealed record AiSettings(string Model, int MaxOutputTokens, int MaxToolRounds);

public static class AiErrors
{
    public const string NotConfigured = "ai_not_configured";
    public const string ProviderFailed = "ai_provider_failed";

    public static Error NotConfiguredError() =>
        new(ErrorType.Unavailable, NotConfigured,
            "No AI provider is configured on this deployment (CleanCrm:Ai:Endpoint, Model and ApiKey); ask the operator to set one.");

    public static Error ProviderFailedError() =>
        new(ErrorType.Unavailable, ProviderFailed,
            "The AI provider did not answer; nothing was charged beyond what it reported. Try again in a moment.");
}
