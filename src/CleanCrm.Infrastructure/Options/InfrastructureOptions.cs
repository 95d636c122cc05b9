using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Options;

/// <summary>Database-per-tenant settings (section <c>CleanCrm:Tenancy</c>).</summary>
public sealed class TenancyOptions
{
    public const string SectionName = "CleanCrm:Tenancy";

    /// <summary>Kept at the latest tenant migration; new tenant databases are cloned from it.</summary>
    [Required]
    [RegularExpression("^[a-z_][a-z0-9_]{0,62}$")]
    public string TemplateDatabase { get; set; } = "cleancrm_tenant_template";

    /// <summary>How many tenant data sources (pools) a process keeps; the least recently used idle one is evicted.</summary>
    [Range(1, 100_000)]
    public int MaxDataSources { get; set; } = 500;

    /// <summary>
    /// EF Core's per-query check that a context is not used by two threads at once (an AsyncLocal write per query). On
    /// in tests and development to catch misuse; off by default in production for the read path's sake (EF's own
    /// performance guidance for pooled, high-throughput contexts).
    /// </summary>
    public bool EfThreadSafetyChecks { get; set; }

    /// <summary>Most connections one tenant may hold at once in this process.</summary>
    [Range(1, 100)]
    public int PerTenantMaxPoolSize { get; set; } = 5;

    /// <summary>Hard cap on physical tenant connections held by this process, across every tenant.</summary>
    [Range(1, 10_000)]
    public int MaxOpenTenantConnections { get; set; } = 50;

    /// <summary>How long a caller waits for a connection slot before getting a 503.</summary>
    [Range(1, 120_000)]
    public int ConnectionAcquireTimeoutMs { get; set; } = 5_000;

    /// <summary>Npgsql closes idle physical connections older than this.</summary>
    [Range(1, 3_600)]
    public int ConnectionIdleLifetimeSeconds { get; set; } = 60;

    /// <summary>A tenant data source unused for this long is disposed, closing its connections.</summary>
    [Range(1, 86_400)]
    public int DataSourceIdleSeconds { get; set; } = 300;

    /// <summary>Safety-net TTL of catalog lookups; changes are pushed to every process by LISTEN/NOTIFY and invalidate at once.</summary>
    [Range(0, 3_600)]
    public int DirectoryCacheSeconds { get; set; } = 60;

    /// <summary>CONNECTION LIMIT of each tenant login role, across all API/worker processes.</summary>
    [Range(1, 1_000)]
    public int TenantRoleConnectionLimit { get; set; } = 40;

    /// <summary>Set when tenant connections go through PgBouncer in transaction mode (no session state, no reset).</summary>
    public bool PgBouncer { get; set; }

    /// <summary>Registered in the catalog by the migrator when no database server exists yet.</summary>
    public DefaultServerOptions? DefaultServer { get; set; }
}

public sealed class DefaultServerOptions
{
    public string Name { get; set; } = "default";

    public string? Host { get; set; }

    [Range(1, 65_535)]
    public int Port { get; set; } = 5432;

    public string? Username { get; set; }

    /// <summary>Moved into the secret store on registration; never stored in the catalog.</summary>
    public string? Password { get; set; }

    [Range(1, 1_000_000)]
    public int Capacity { get; set; } = 5_000;
}

/// <summary>Where secrets live (section <c>CleanCrm:Secrets</c>).</summary>
public sealed class SecretsOptions
{
    public const string SectionName = "CleanCrm:Secrets";

    /// <summary><c>Local</c> (Data Protection–encrypted rows in the catalog) or <c>KeyVault</c>.</summary>
    [Required]
    [RegularExpression("^(Local|KeyVault)$", ErrorMessage = "CleanCrm:Secrets:Provider must be Local or KeyVault.")]
    public string Provider { get; set; } = "Local";
}

internal sealed class TenancyOptionsValidator : IValidateOptions<TenancyOptions>
{
    public ValidateOptionsResult Validate(string? name, TenancyOptions options)
    {
        var failures = new List<string>();
        if (options.PerTenantMaxPoolSize > options.MaxOpenTenantConnections)
        {
            failures.Add("CleanCrm:Tenancy:PerTenantMaxPoolSize must not exceed CleanCrm:Tenancy:MaxOpenTenantConnections.");
        }

        if (options.DefaultServer is { } server && (string.IsNullOrWhiteSpace(server.Host) || string.IsNullOrWhiteSpace(server.Username)))
        {
            failures.Add("CleanCrm:Tenancy:DefaultServer needs Host and Username (and Password) when it is set.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
