using CleanCrm.Application.Proposals;
using Ganss.Xss;
using Markdig;

namespace CleanCrm.Infrastructure.Ai;

/// <summary>
/// Markdown (the model's, hence untrusted) → HTML with Markdig, then HtmlSanitizer's allow-list: raw HTML in the Markdown
/// is kept only where the sanitizer allows it, so <c>script</c> elements, <c>on*</c> attributes and links whose scheme
/// is not http, https or mailto (e.g. <c>javascript:</c>) are removed.
/// </summary>
public sealed class SanitizedMarkdownRenderer : IMarkdownRenderer
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UsePipeTables().UseAutoLinks().Build();

    private readonly HtmlSanitizer _sanitizer;

    public SanitizedMarkdownRenderer()
    {
        _sanitizer = new HtmlSanitizer();
        _sanitizer.AllowedSchemes.Clear();
        _sanitizer.AllowedSchemes.UnionWith(["http", "https", "mailto"]);
        _sanitizer.AllowedAttributes.Remove("style");
        _sanitizer.AllowedTags.ExceptWith(["form", "input", "button", "textarea", "select", "option"]);
    }

    public string ToSafeHtml(string markdown) => _sanitizer.Sanitize(Markdown.ToHtml(markdown ?? string.Empty, Pipeline));
}
