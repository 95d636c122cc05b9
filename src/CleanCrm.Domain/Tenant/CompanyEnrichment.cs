namespace CleanCrm.Domain.Tenant;

/// <summary>
/// What company enrichment found on a company's web site for one domain: a PNG logo thumbnail and the home page's title and
/// description, or why it found nothing (docs/INTEGRATIONS.md, "Company enrichment"). One row per company, replaced when
/// the domain changes; a row for another domain than the company's current one is stale and never served.
/// </summary>
public sealed class CompanyEnrichment
{
    public Guid CompanyId { get; set; }

    /// <summary>The domain this result is for: a job for the same company and domain finds it and does nothing.</summary>
    public required string Domain { get; set; }

    public EnrichmentStatus Status { get; set; }

    public string? Title { get; set; }

    public string? Description { get; set; }

    /// <summary>PNG, at most 128 px on its longer side; null when no usable image was found.</summary>
    public byte[]? Logo { get; set; }

    /// <summary>Hex SHA-256 of <see cref="Logo"/>: the logo's ETag.</summary>
    public string? LogoHash { get; set; }

    /// <summary>Where the logo was fetched from (after redirects).</summary>
    public string? LogoSourceUrl { get; set; }

    /// <summary>Why nothing (or no logo) was stored: <c>unreachable</c>, <c>forbidden_address</c>, <c>not_an_image</c>…</summary>
    public string? Failure { get; set; }

    public DateTimeOffset FetchedAt { get; set; }
}

public enum EnrichmentStatus
{
    /// <summary>The site answered: metadata and, when a usable image was found, a logo.</summary>
    Enriched,

    /// <summary>Nothing usable: the site could not be reached or was refused (see <see cref="CompanyEnrichment.Failure"/>).</summary>
    Failed,
}
