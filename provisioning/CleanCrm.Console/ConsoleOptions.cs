using System.ComponentModel.DataAnnotations;

namespace CleanCrm.Console;

/// <summary>Console settings (section <c>CleanCrm:Console</c>, docs/CONSOLE.md).</summary>
public sealed class ConsoleOptions
{
    public const string SectionName = "CleanCrm:Console";

    /// <summary>The API's base URL: the OpenID Connect issuer the console signs in with, and where its <c>/metrics</c> are read.</summary>
    [Required]
    public Uri? ApiBaseUrl { get; set; }

    /// <summary>The secret of the confidential client <c>cleancrm-console</c>; from the environment or the secret store.</summary>
    [Required]
    public string? ClientSecret { get; set; }

    /// <summary>How often a signed-in admin is checked again against the catalog (revoked admins lose access within this time).</summary>
    [Range(1, 60)]
    public int AdminRecheckMinutes { get; set; } = 5;

    /// <summary>How often live views (statuses, timelines, progress) poll their fragment.</summary>
    [Range(500, 2000)]
    public int LivePollMilliseconds { get; set; } = 2000;
}
