using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Proposals;

/// <summary>
/// A proposal as <c>GET /api/v1/proposals/{id}</c> returns it: <c>markdown</c> is the model's text (untrusted),
/// <c>html</c> its sanitised rendering, both null until <c>status</c> is <c>ready</c>; <c>error</c> says why it failed.
/// </summary>
public sealed record ProposalDto(
    Guid Id,
    Guid DealId,
    ProposalStatus Status,
    string? Instructions,
    string? Markdown,
    string? Html,
    string? Error,
    long InputTokens,
    long OutputTokens,
    Guid? CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? CompletedAt)
{
    public static ProposalDto From(Proposal p) => new(p.Id, p.DealId, p.Status, p.Instructions, p.Markdown, p.Html, p.Error,
        p.InputTokens, p.OutputTokens, p.CreatedBy, p.CreatedAt, p.UpdatedAt, p.CompletedAt);
}

/// <summary>The organization's proposal template; <c>isDefault</c> when none was saved and the built-in one applies.</summary>
public sealed record ProposalTemplateDto(string Markdown, bool IsDefault, DateTimeOffset? UpdatedAt, Guid? UpdatedBy);

/// <summary>Turns the model's Markdown into HTML safe to show in a browser (Infrastructure: Markdig + HtmlSanitizer).</summary>
public interface IMarkdownRenderer
{
    /// <summary>Renders and sanitises: no scripts, event-handler attributes, <c>javascript:</c> or other non-web links.</summary>
    string ToSafeHtml(string markdown);
}

/// <summary>Hands a pending proposal to the worker.</summary>
public interface IProposalQueue
{
    /// <summary>False when the job could not be queued (job storage unreachable).</summary>
    bool Enqueue(Guid organizationId, Guid proposalId);
}

public static class ProposalTemplates
{
    /// <summary>The template used while the organization has not saved one.</summary>
    public const string Default =
        """
        # Proposal: {deal}

        ## Summary
        What the customer wants to achieve and how we help.

        ## Scope
        What is included, as a list.

        ## Timeline
        Milestones up to the expected close and go-live.

        ## Investment
        The deal amount and what it covers.

        ## Next steps
        What happens after the customer agrees.
        """;
}
