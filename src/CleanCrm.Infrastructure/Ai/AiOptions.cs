using System.ComponentModel.DataAnnotations;

namespace CleanCrm.Infrastructure.Ai;

/// <summary>
/// The OpenAI-compatible chat provider (section <c>CleanCrm:Ai</c>, docs/AI.md). Without a model (or without both an
/// endpoint and a key) AI routes answer 503 <c>ai_not_configured</c>.
/// </summary>
public sealed class AiOptions
{
    public const string SectionName = "CleanCrm:Ai";

    /// <summary>Base URL of the Chat Completions API, e.g. <c>https://api.openai.com/v1</c>, an Azure OpenAI
    /// <c>…/openai/v1</c> endpoint or a local server's <c>http://localhost:11434/v1</c>; OpenAI's when omitted.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Model (or Azure deployment) name.</summary>
    [MaxLength(200)]
    public string? Model { get; set; }

    /// <summary>API key, from the secret store or the environment (<c>CleanCrm__Ai__ApiKey</c>), never from a committed file.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Output cap of every call; also the part of each token reservation reserved for the answer.</summary>
    [Range(16, 32_000)]
    public int MaxOutputTokens { get; set; } = 1024;

    /// <summary>Tool rounds the copilot may run before it must answer.</summary>
    [Range(0, 10)]
    public int MaxToolRounds { get; set; } = 4;

    /// <summary>How long one attempt of a model call may take before it is abandoned (and retried, see <see cref="MaxRetries"/>).</summary>
    [Range(5, 600)]
    public int RequestTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// Retries of a failed or timed-out call (the SDK's default is 3). A synchronous AI route answers within about
    /// (MaxRetries + 1) × <see cref="RequestTimeoutSeconds"/> plus the SDK's backoff (docs/AI.md).
    /// </summary>
    [Range(0, 5)]
    public int MaxRetries { get; set; } = 3;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Model) && (Endpoint is not null || !string.IsNullOrWhiteSpace(ApiKey));
}
