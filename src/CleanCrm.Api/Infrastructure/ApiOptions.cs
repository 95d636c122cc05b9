using System.ComponentModel.DataAnnotations;

namespace CleanCrm.Api.Infrastructure;

/// <summary>HTTP settings (section <c>CleanCrm:Api</c>).</summary>
public sealed class ApiOptions
{
    public const string SectionName = "CleanCrm:Api";

    /// <summary>Largest request body accepted by default (bytes); uploads raise it per endpoint.</summary>
    [Range(1_024, 1_073_741_824)]
    public long MaxRequestBodyBytes { get; set; } = 1_048_576;

    /// <summary>Apply catalog and template migrations at start-up; honoured in Development only.</summary>
    public bool MigrateOnStartup { get; set; }
}
