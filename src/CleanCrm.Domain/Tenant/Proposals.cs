namespace CleanCrm.Domain.Tenant;

public enum ProposalStatus
{
    Pending,
    Generating,
    Ready,
    Failed,
}

/// <summary>
/// A proposal the model drafts for a deal (docs/AI.md, "Proposals"). Not a <c>TenantEntity</c>, like the copilot's
/// conversations: the audit log would otherwise copy every generated document.
/// </summary>
public sealed class Proposal
{
    public const int MaxInstructionsLength = 2000;

    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid DealId { get; set; }

    public ProposalStatus Status { get; set; }

    /// <summary>What the requester asked for on top of the template (optional).</summary>
    public string? Instructions { get; set; }

    /// <summary>The model's Markdown, as it answered (untrusted).</summary>
    public string? Markdown { get; set; }

    /// <summary>The Markdown rendered to HTML and sanitised (no scripts, event handlers or <c>javascript:</c> links).</summary>
    public string? Html { get; set; }

    /// <summary>Why generation failed, in words for people (never the provider's own message).</summary>
    public string? Error { get; set; }

    public long InputTokens { get; set; }

    public long OutputTokens { get; set; }

    /// <summary>How many times a worker claimed it (a claim older than the lease is a worker that died).</summary>
    public int Attempts { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    public Guid? CreatedBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>The organization's proposal template (Markdown, one row; none means the built-in default).</summary>
public sealed class ProposalTemplate
{
    public const int SingletonId = 1;
    public const int MaxLength = 20_000;

    public int Id { get; set; } = SingletonId;

    public required string Markdown { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public Guid? UpdatedBy { get; set; }
}
