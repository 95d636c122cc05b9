using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Backups;

/// <summary>Backups (section <c>CleanCrm:Backups</c>): where dumps go, when they are taken, how many at once.</summary>
public sealed class BackupOptions
{
    public const string SectionName = "CleanCrm:Backups";

    /// <summary><c>FileSystem</c> (default) or <c>AzureBlob</c>.</summary>
    [Required]
    [RegularExpression("^(FileSystem|AzureBlob)$", ErrorMessage = "CleanCrm:Backups:Store must be FileSystem or AzureBlob.")]
    public string Store { get; set; } = "FileSystem";

    /// <summary>Folder of the file-system store; relative paths are taken from the process's working directory.</summary>
    public string FileSystemRoot { get; set; } = "backups";

    public AzureBlobBackupOptions AzureBlob { get; set; } = new();

    /// <summary>Backups running at once across every worker process (a slot is a catalog advisory lock).</summary>
    [Range(1, 64)]
    public int MaxConcurrentBackups { get; set; } = 1;

    /// <summary>How long a queued backup waits for a free slot before it fails (and is reported).</summary>
    [Range(1, 86_400)]
    public int SlotWaitSeconds { get; set; } = 3_600;

    /// <summary>pg_dump's gzip level (0-9): 1 costs far less CPU than the default 6 for a somewhat larger file.</summary>
    [Range(0, 9)]
    public int CompressionLevel { get; set; } = 1;

    /// <summary>
    /// Run pg_dump (and its compression) at the lowest CPU priority, and the PostgreSQL server processes of the backup's
    /// sessions too when the database server is on this host and the OS allows it, so backups yield to the API.
    /// </summary>
    public bool LowPriority { get; set; } = true;

    /// <summary>Daily backups of every active organization, spread over the day by organization id.</summary>
    public bool ScheduleEnabled { get; set; } = true;

    /// <summary>Take a final backup before an organization's database is dropped.</summary>
    public bool BeforeDelete { get; set; } = true;

    /// <summary>Take a backup before a tenant database moves to another server.</summary>
    public bool BeforeMove { get; set; } = true;

    /// <summary>Take a backup of each tenant database right before the fleet migration changes it.</summary>
    public bool BeforeMigration { get; set; }
}

public sealed class AzureBlobBackupOptions
{
    /// <summary>
    /// A storage connection string (Azurite in development); or leave empty and set <see cref="ServiceUri"/> for managed identity.
    /// </summary>
    public string? ConnectionString { get; set; }

    public Uri? ServiceUri { get; set; }

    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$",
        ErrorMessage = "CleanCrm:Backups:AzureBlob:Container must be a valid container name.")]
    public string Container { get; set; } = "cleancrm-backups";
}

internal sealed class BackupOptionsValidator : IValidateOptions<BackupOptions>
{
    public ValidateOptionsResult Validate(string? name, BackupOptions options)
    {
        if (options.Store == "AzureBlob" && string.IsNullOrWhiteSpace(options.AzureBlob.ConnectionString)
            && options.AzureBlob.ServiceUri is null)
        {
            return ValidateOptionsResult.Fail("CleanCrm:Backups:Store is AzureBlob: set CleanCrm:Backups:AzureBlob:ConnectionString or " +
                "CleanCrm:Backups:AzureBlob:ServiceUri.");
        }

        if (options.Store == "FileSystem" && string.IsNullOrWhiteSpace(options.FileSystemRoot))
        {
            return ValidateOptionsResult.Fail("CleanCrm:Backups:FileSystemRoot must name a folder.");
        }

        return ValidateOptionsResult.Success;
    }
}
