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

    /// <summary>
    /// Hard cap on physical tenant connections held by this process, across every tenant. 0 (the default) derives it
    /// from the tenant database server: (max_connections − superuser_reserved_connections − ReservedServerConnections)
    /// ÷ Processes, read on the first tenant connection to each server (the smallest server's budget wins).
    /// </summary>
    [Range(0, 10_000)]
    public int MaxOpenTenantConnections { get; set; }

    /// <summary>
    /// Connections of each database server kept out of the derived tenant budget: catalog pools, the catalog listener,
    /// migrations and provisioning (admin), backups, monitoring (docs/OPERATIONS.md, "Sizing tenant connections").
    /// </summary>
    [Range(0, 10_000)]
    public int ReservedServerConnections { get; set; } = 20;

    /// <summary>
    /// Processes (API instances and workers) that open tenant connections to the same servers; they share the derived
    /// budget.
    /// </summary>
    [Range(1, 1_000)]
    public int Processes { get; set; } = 2;

    /// <summary>
    /// TLS for tenant connections (Npgsql <c>SslMode</c>: Disable, Allow, Prefer, Require, VerifyCA, VerifyFull). Prefer
    /// (Npgsql's default) costs an extra round trip per new session on a server without TLS; Disable suits a private
    /// network or a local socket only (docs/OPERATIONS.md).
    /// </summary>
    [Required]
    public string SslMode { get; set; } = "Prefer";

    /// <summary>
    /// Load the server's type catalog on the first connection of each tenant data source (Npgsql's default). Off: the
    /// built-in types only (the tenant schema uses no enums, domains or extension types), which saves a catalog query
    /// and the type cache per data source.
    /// </summary>
    public bool LoadServerTypes { get; set; }

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

    /// <summary>
    /// With <see cref="PgBouncer"/>: where tenant connections of a database server go instead of the server's own
    /// host and port (its PgBouncer); admin work (migrations, provisioning, backups) still goes to the server directly.
    /// </summary>
    public List<PgBouncerEndpoint> PgBouncerEndpoints { get; set; } = [];

    /// <summary>Registered in the catalog by the migrator when no database server exists yet.</summary>
    public DefaultServerOptions? DefaultServer { get; set; }
}

/// <summary>A database server (as registered, <c>host:port</c>) and the PgBouncer its tenant connections go through.</summary>
public sealed class PgBouncerEndpoint
{
    public string Server { get; set; } = string.Empty;

    public string Endpoint { get; set; } = string.Empty;

    internal static bool TryParse(string value, out string host, out int port)
    {
        var colon = value.LastIndexOf(':');
        host = colon > 0 ? value[..colon] : string.Empty;
        port = 0;
        return colon > 0 && int.TryParse(value[(colon + 1)..], System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65_535;
    }
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
        if (options.MaxOpenTenantConnections > 0 && options.PerTenantMaxPoolSize > options.MaxOpenTenantConnections)
        {
            failures.Add("CleanCrm:Tenancy:PerTenantMaxPoolSize must not exceed CleanCrm:Tenancy:MaxOpenTenantConnections.");
        }

        if (!Enum.TryParse<Npgsql.SslMode>(options.SslMode, ignoreCase: true, out _) || int.TryParse(options.SslMode, out _))
        {
            failures.Add("CleanCrm:Tenancy:SslMode must be one of Disable, Allow, Prefer, Require, VerifyCA, VerifyFull.");
        }

        if (options.PgBouncerEndpoints.Count > 0 && !options.PgBouncer)
        {
            failures.Add("CleanCrm:Tenancy:PgBouncerEndpoints needs CleanCrm:Tenancy:PgBouncer=true.");
        }

        foreach (var endpoint in options.PgBouncerEndpoints)
        {
            if (!PgBouncerEndpoint.TryParse(endpoint.Server, out _, out _) || !PgBouncerEndpoint.TryParse(endpoint.Endpoint, out _, out _))
            {
                failures.Add($"CleanCrm:Tenancy:PgBouncerEndpoints: '{endpoint.Server}' → '{endpoint.Endpoint}' must both be host:port.");
            }
        }

        if (options.DefaultServer is { } server && (string.IsNullOrWhiteSpace(server.Host) || string.IsNullOrWhiteSpace(server.Username)))
        {
            failures.Add("CleanCrm:Tenancy:DefaultServer needs Host and Username (and Password) when it is set.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
