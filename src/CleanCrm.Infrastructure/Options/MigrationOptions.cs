using System.ComponentModel.DataAnnotations;

namespace CleanCrm.Infrastructure.Options;

/// <summary>Fleet migration settings (section <c>CleanCrm:Migrations</c>).</summary>
public sealed class MigrationOptions
{
    public const string SectionName = "CleanCrm:Migrations";

    public const int MaxAllowedParallelism = 64;

    /// <summary>
    /// How many tenant databases are migrated at once (each holds about two connections to its server and one to the catalog).
    /// </summary>
    [Range(1, MaxAllowedParallelism, ErrorMessage = "CleanCrm:Migrations:MaxParallelism must be between 1 and 64.")]
    public int MaxParallelism { get; set; } = 8;
}
