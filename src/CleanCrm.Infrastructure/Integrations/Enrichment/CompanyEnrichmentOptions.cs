namespace CleanCrm.Infrastructure.Integrations.Enrichment;

/// <summary>Company enrichment (<c>CleanCrm:Integrations:Enrichment</c>, the section of <see cref="SafeFetchOptions"/>).</summary>
public sealed class CompanyEnrichmentOptions
{
    public const string SectionName = SafeFetchOptions.SectionName;

    /// <summary>Off: saving a company with a domain queues nothing.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The home page fetched for a domain; <c>{domain}</c> is replaced by the company's domain.</summary>
    public string HomePageUrl { get; set; } = "https://{domain}/";

    /// <summary>The longer side of the stored thumbnail, in pixels (16-128).</summary>
    public int ThumbnailSize { get; set; } = 128;

    /// <summary>Images wider or taller than this are refused before they are decoded (decompression bombs).</summary>
    public int MaxSourcePixels { get; set; } = 4096;

    /// <summary>How many icon/logo candidates of a page are tried before giving up.</summary>
    public int MaxCandidates { get; set; } = 5;
}
