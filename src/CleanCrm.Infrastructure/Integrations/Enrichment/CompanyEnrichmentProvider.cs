using System.Globalization;
using System.Text;
using AngleSharp.Html.Parser;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations.Enrichment;

/// <summary>What a provider found for a domain; <see cref="Failure"/> says why there is no logo (or nothing at all).</summary>
public sealed record CompanySiteInfo(bool Reached, string? Title, string? Description, Thumbnail? Logo, Uri? LogoSource, string? Failure);

/// <summary>Finds a company's logo and site metadata for its domain (docs/INTEGRATIONS.md, "Company enrichment").</summary>
public interface ICompanyEnrichmentProvider
{
    Task<CompanySiteInfo> DescribeAsync(string domain, CancellationToken cancellationToken);
}

/// <summary>
/// Reads the company's home page (<see cref="CompanyEnrichmentOptions.HomePageUrl"/>): its title and description, and its icon
/// candidates in order of usefulness for a 128 px thumbnail — <c>apple-touch-icon</c>, <c>icon</c> links (largest
/// <c>sizes</c> first), <c>og:image</c>, then <c>/favicon.ico</c>. Every request goes through <see cref="SafeHttpFetcher"/>;
/// the first candidate that is an image of an accepted type and size and decodes becomes the thumbnail.
/// </summary>
public sealed class HttpCompanyEnrichmentProvider(SafeHttpFetcher fetcher, IOptions<CompanyEnrichmentOptions> options)
    : ICompanyEnrichmentProvider
{
    public async Task<CompanySiteInfo> DescribeAsync(string domain, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!Uri.TryCreate(settings.HomePageUrl.Replace("{domain}", domain, StringComparison.Ordinal), UriKind.Absolute, out var home))
        {
            return new CompanySiteInfo(false, null, null, null, null, "invalid_url");
        }

        var page = await fetcher.GetAsync(home, IsHtml, cancellationToken);
        string? title = null;
        string? description = null;
        var candidates = new List<Uri>();
        if (page.Succeeded)
        {
            (title, description, candidates) = Parse(Encoding.UTF8.GetString(page.Body!), page.FinalUri ?? home);
        }

        var siteRoot = page.FinalUri ?? home;
        candidates.Add(new Uri(siteRoot, "/favicon.ico"));
        string? failure = page.Succeeded ? null : Reason(page.Refusal);
        foreach (var candidate in candidates.Distinct().Take(settings.MaxCandidates))
        {
            var image = await fetcher.GetAsync(candidate, IsRasterImage, cancellationToken);
            if (!image.Succeeded)
            {
                failure ??= Reason(image.Refusal);
                continue;
            }

            var (thumbnail, refused) = LogoThumbnail.Create(image.Body!, settings.ThumbnailSize, settings.MaxSourcePixels);
            if (thumbnail is not null)
            {
                return new CompanySiteInfo(true, title, description, thumbnail, image.FinalUri ?? candidate, null);
            }

            failure ??= refused;
        }

        return new CompanySiteInfo(page.Succeeded, title, description, null, null, failure ?? "no_logo");
    }

    /// <summary>The stored reason for a refused or failed fetch.</summary>
    public static string Reason(FetchRefusal refusal) => refusal switch
    {
        FetchRefusal.Scheme => "scheme_not_allowed",
        FetchRefusal.PrivateAddress => "forbidden_address",
        FetchRefusal.TooManyRedirects => "too_many_redirects",
        FetchRefusal.TooLarge => "too_large",
        FetchRefusal.ContentType => "content_type",
        _ => "unreachable",
    };

    private static bool IsHtml(string type) => type is "text/html" or "application/xhtml+xml";

    // SVG is not rasterized (and may carry scripts); everything else image/* is handed to the decoder, which has the last word.
    private static bool IsRasterImage(string type) =>
        type.StartsWith("image/", StringComparison.Ordinal) && type != "image/svg+xml";

    private static (string? Title, string? Description, List<Uri> Candidates) Parse(string html, Uri page)
    {
        using var document = new HtmlParser().ParseDocument(html);
        var title = Clip(document.Title, 300);
        var description = Clip(document.QuerySelector("meta[name='description' i]")?.GetAttribute("content")
                               ?? document.QuerySelector("meta[property='og:description' i]")?.GetAttribute("content"), 1000);
        var links = document.QuerySelectorAll("link[rel][href]")
            .Select(link => (
                Rel: (link.GetAttribute("rel") ?? string.Empty).ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries),
                Href: link.GetAttribute("href")!,
                Type: link.GetAttribute("type"),
                Size: LargestSize(link.GetAttribute("sizes"))))
            .Where(link => link.Type != "image/svg+xml")
            .ToList();
        var ordered = links.Where(l => l.Rel.Any(r => r.StartsWith("apple-touch-icon", StringComparison.Ordinal)))
            .OrderByDescending(l => l.Size)
            .Concat(links.Where(l => l.Rel.Contains("icon")).OrderByDescending(l => l.Size))
            .Select(l => l.Href)
            .ToList();
        if (document.QuerySelector("meta[property='og:image' i]")?.GetAttribute("content") is { Length: > 0 } ogImage)
        {
            ordered.Add(ogImage);
        }

        var candidates = ordered
            .Select(href => Uri.TryCreate(page, href.Trim(), out var uri) ? uri : null)
            .OfType<Uri>()
            .Where(uri => uri.Scheme is "http" or "https")
            .ToList();
        return (title, description, candidates);
    }

    private static int LargestSize(string? sizes) =>
        (sizes ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .Select(size => size.Split('x', 'X'))
        .Select(parts => parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var width)
            ? width
            : 0)
        .DefaultIfEmpty(0).Max();

    private static string? Clip(string? value, int length)
    {
        var trimmed = value?.Trim();
        return string.IsNullOrEmpty(trimmed) ? null : trimmed.Length <= length ? trimmed : trimmed[..length];
    }
}
