using CleanCrm.Application;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Xunit;

namespace CleanCrm.Testing;

/// <summary>
/// A private copy of the platform on the real test servers: its own catalog and template databases (unique names), the
/// primary server registered as default (and the secondary when requested), and helpers that create fully provisioned
/// organizations with real databases and roles. Everything it created is dropped on dispose.
/// </summary>
public class PlatformEnvironment : IAsyncLifetime
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..12];

    public string CatalogDatabase => $"cct_catalog_{_suffix}";

    public string TemplateDatabase => $"cct_template_{_suffix}";

    /// <summary>The file-system backup store of this platform (deleted on dispose).</summary>
    public string BackupRoot => Path.Combine(Path.GetTempPath(), $"cct_backups_{_suffix}");

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<object>>> _shared = new();

    public IServiceProvider Services { get; private set; } = null!;

    /// <summary>Data built once per platform and shared by the tests of a class (xunit makes a class instance per test).</summary>
    public async Task<T> SharedAsync<T>(string key, Func<Task<T>> create)
        where T : class =>
        (T)await _shared.GetOrAdd(key, _ => new Lazy<Task<object>>(async () => await create())).Value;

    public Dictionary<string, string?> Settings { get; } = [];

    /// <summary>The SMTP server every API and worker of this platform sends to.</summary>
    public TestMailServer Mail { get; private set; } = null!;

    public DatabaseServer PrimaryServer { get; private set; } = null!;

    private DatabaseServer? _secondaryServer;

    /// <summary>The second test server (see <see cref="UseSecondaryServer"/>); without one, the caller fails with the reason.</summary>
    public DatabaseServer SecondaryServer => _secondaryServer ?? throw new InvalidOperationException(
        UseSecondaryServer ? TestDatabaseServers.NoDistinctSecondaryReason : $"{GetType().Name} does not register the second server.");

    protected virtual bool UseSecondaryServer => false;

    public string CatalogConnectionString =>
        TestDatabaseServers.ConnectionString(TestDatabaseServers.Primary, CatalogDatabase, pooling: true);

    public virtual async Task InitializeAsync()
    {
        var primary = TestDatabaseServers.Primary;
        await TestDatabaseServers.ExecuteAsync(primary, $"CREATE DATABASE \"{CatalogDatabase}\"");
        Settings["ConnectionStrings:Catalog"] = CatalogConnectionString;
        Settings["CleanCrm:Tenancy:TemplateDatabase"] = TemplateDatabase;
        Settings["CleanCrm:Tenancy:EfThreadSafetyChecks"] = "true";
        Settings["CleanCrm:Tenancy:DefaultServer:Name"] = "primary";
        Settings["CleanCrm:Tenancy:DefaultServer:Host"] = primary.Host;
        Settings["CleanCrm:Tenancy:DefaultServer:Port"] = primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Settings["CleanCrm:Tenancy:DefaultServer:Username"] = primary.Username;
        Settings["CleanCrm:Tenancy:DefaultServer:Password"] = primary.Password;
        Settings["CleanCrm:Tenancy:DirectoryCacheSeconds"] = "0";
        if (Environment.GetEnvironmentVariable("CLEANCRM_TEST_PGBOUNCER") is { Length: > 0 } pgBouncer)
        {
            // scripts/test.sh with CLEANCRM_PGBOUNCER=1: tenant connections of the primary server go through PgBouncer.
            Settings["CleanCrm:Tenancy:PgBouncer"] = "true";
            Settings["CleanCrm:Tenancy:PgBouncerEndpoints:0:Server"] = $"{primary.Host}:{primary.Port}";
            Settings["CleanCrm:Tenancy:PgBouncerEndpoints:0:Endpoint"] = pgBouncer;
        }

        Settings["CleanCrm:DevelopmentAuthentication:Enabled"] = "true";
        Settings["CleanCrm:Provisioning:RetryDelayMs"] = "20";
        Settings["CleanCrm:Provisioning:RequeueAfterSeconds"] = "2";
        Settings["CleanCrm:Jobs:QueuePollIntervalMs"] = "100";
        Settings["Serilog:MinimumLevel:Default"] = "Warning";
        Settings["CleanCrm:Backups:FileSystemRoot"] = BackupRoot;
        Settings["CleanCrm:AbuseProtection:TokenRequestsPerMinutePerIp"] = "100000";
        Settings["CleanCrm:AbuseProtection:SignupsPerMinutePerIp"] = "100000";
        // Per-plan API budgets are off in shared test hosts (bursty tests); the billing tests switch them on.
        Settings["CleanCrm:RateLimiting:Enabled"] = "false";
        // No warm pool in shared test hosts: several platforms share each test server, and a pool per catalog would fill
        // it with databases; the warm-pool tests set their own size (ADR 0015).
        Settings["CleanCrm:Provisioning:WarmPool:Size"] = "0";
        Settings["CleanCrm:Identity:SigningKey"] = NewRsaPem();
        Settings["CleanCrm:Identity:EncryptionKey"] = NewRsaPem();
        Mail = TestMailServer.Start();
        Settings["CleanCrm:Email:Smtp:Host"] = "127.0.0.1";
        Settings["CleanCrm:Email:Smtp:Port"] = Mail.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Settings["CleanCrm:Email:PublicBaseUrl"] = "https://app.cleancrm.test";
        Settings["CleanCrm:Email:RequeueAfterSeconds"] = "2";
        Settings["CleanCrm:AbuseProtection:SignInAttemptsPerMinutePerAccount"] = "100000";
        ConfigureSettings(Settings);

        Services = BuildServices(Settings);
        var migrator = Services.GetRequiredService<DatabaseMigrator>();
        await migrator.MigrateCatalogAsync(CancellationToken.None);
        await using (var db = await CatalogAsync())
        {
            PrimaryServer = await db.DatabaseServers.AsNoTracking().SingleAsync();
        }

        if (UseSecondaryServer && TestDatabaseServers.HasDistinctSecondary)
        {
            _secondaryServer = await RegisterServerAsync("secondary", TestDatabaseServers.Secondary);
        }

        await migrator.MigrateTemplatesAsync(CancellationToken.None);
    }

    private static string NewRsaPem()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        return rsa.ExportPkcs8PrivateKeyPem();
    }

    protected virtual void ConfigureSettings(Dictionary<string, string?> settings)
    {
    }

    public static ServiceProvider BuildServices(IDictionary<string, string?> settings, Action<IServiceCollection>? configure = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IConfiguration>(configuration);
        services.AddApplication(configuration);
        services.AddInfrastructure(configuration);
        services.AddSingleton<ICallerContext, TestSystemCaller>();
        configure?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
    }

    public async Task<CatalogDbContext> CatalogAsync() =>
        await Services.GetRequiredService<IDbContextFactory<CatalogDbContext>>().CreateDbContextAsync();

    public async Task<DatabaseServer> RegisterServerAsync(string name, NpgsqlConnectionStringBuilder server, int capacity = 1000)
    {
        var row = new DatabaseServer
        {
            Name = name,
            Host = server.Host!,
            Port = server.Port,
            AdminUsername = server.Username!,
            AdminSecretName = string.Empty,
            Capacity = capacity,
            CreatedAt = DateTimeOffset.UtcNow,
            UpdatedAt = DateTimeOffset.UtcNow,
        };
        row.AdminSecretName = Application.Common.Secrets.SecretName.ForDatabaseServer(row.Id);
        await Services.GetRequiredService<Application.Common.Secrets.ISecretStore>().SetAsync(row.AdminSecretName, server.Password!);
        await using var db = await CatalogAsync();
        db.DatabaseServers.Add(row);
        await db.SaveChangesAsync();
        return row;
    }

    /// <summary>Creates a user (or reuses one by email).</summary>
    public async Task<UserAccount> CreateUserAsync(string? email = null, string name = "Test User", bool platformAdmin = false)
    {
        email ??= $"user-{Guid.NewGuid():N}@example.com";
        await using var db = await CatalogAsync();
        var existing = await db.Users.FirstOrDefaultAsync(u => u.NormalizedEmail == UserAccount.Normalize(email));
        if (existing is not null)
        {
            return existing;
        }

        var user = new UserAccount
        {
            Email = email,
            NormalizedEmail = UserAccount.Normalize(email),
            Name = name,
            IsPlatformAdmin = platformAdmin,
            CreatedAt = DateTimeOffset.UtcNow
        };
        db.Users.Add(user);
        await db.SaveChangesAsync();
        return user;
    }

    /// <summary>Creates an organization with the given members and provisions its real database (active unless told otherwise).</summary>
    public async Task<Organization> CreateOrganizationAsync(
        string? slug = null,
        IEnumerable<(UserAccount User, OrgRole Role)>? members = null,
        Guid? serverId = null,
        bool provision = true,
        string plan = Plan.Free)
    {
        slug ??= "org-" + Guid.NewGuid().ToString("N")[..10];
        var organization = new Organization
        {
            Slug = slug,
            Name = $"Org {slug}",
            PlanKey = plan,
            CreatedAt = DateTimeOffset.UtcNow,
            UpdatedAt = DateTimeOffset.UtcNow
        };
        await using (var db = await CatalogAsync())
        {
            if (serverId is { } id)
            {
                organization.AssignDatabase(id);
            }

            db.Organizations.Add(organization);
            foreach (var (user, role) in members ?? [])
            {
                db.Memberships.Add(new Membership
                {
                    OrganizationId = organization.Id,
                    UserId = user.Id,
                    Role = role,
                    CreatedAt = DateTimeOffset.UtcNow,
                    UpdatedAt = DateTimeOffset.UtcNow
                });
            }

            await db.SaveChangesAsync();
        }

        if (provision)
        {
            await Services.GetRequiredService<TenantOnboarding>().ProvisionAsync(organization.Id, CancellationToken.None);
        }

        await using var reload = await CatalogAsync();
        return await reload.Organizations.AsNoTracking().Include(o => o.DatabaseServer).SingleAsync(o => o.Id == organization.Id);
    }

    public async Task SetStatusAsync(Guid organizationId, OrganizationStatus status)
    {
        await using var db = await CatalogAsync();
        await db.Organizations.Where(o => o.Id == organizationId).ExecuteUpdateAsync(s => s.SetProperty(o => o.Status, status));
    }

    /// <summary>Admin connection string to an organization's own database, for asserting on rows actually present.</summary>
    public static string TenantAdminConnectionString(Organization organization)
    {
        var server = organization.DatabaseServer!.Port == TestDatabaseServers.Secondary.Port && TestDatabaseServers.HasDistinctSecondary
            ? TestDatabaseServers.Secondary
            : TestDatabaseServers.Primary;
        return TestDatabaseServers.ConnectionString(server, organization.DatabaseName);
    }

    public static async Task<long> CountRowsAsync(Organization organization, string sql)
    {
        await using var connection = new NpgsqlConnection(TenantAdminConnectionString(organization));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public virtual async Task DisposeAsync()
    {
        var organizations = new List<Organization>();
        try
        {
            await using var db = await CatalogAsync();
            organizations = await db.Organizations.AsNoTracking().Include(o => o.DatabaseServer).Where(o => o.DatabaseServerId != null)
                .ToListAsync();
        }
        catch (PostgresException)
        {
        }

        foreach (var shared in _shared.Values.Where(v => v.IsValueCreated))
        {
            if (await shared.Value is IDisposable disposableShared)
            {
                disposableShared.Dispose();
            }
        }

        if (Services is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        if (Mail is not null)
        {
            await Mail.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        foreach (var server in new[] { TestDatabaseServers.Primary, TestDatabaseServers.Secondary }.DistinctBy(s => (s.Host, s.Port)))
        {
            foreach (
                var organization in organizations.Where(o => o.DatabaseServer!.Port == server.Port && o.DatabaseServer.Host == server.Host))
            {
                await TestDatabaseServers.ExecuteAsync(server, $"DROP DATABASE IF EXISTS \"{organization.DatabaseName}\" WITH (FORCE)");
                await TestDatabaseServers.ExecuteAsync(server, $"DROP ROLE IF EXISTS \"{organization.DatabaseRole}\"");
            }

            await TestDatabaseServers.ExecuteAsync(server, $"DROP DATABASE IF EXISTS \"{TemplateDatabase}\" WITH (FORCE)");
        }

        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"DROP DATABASE IF EXISTS \"{CatalogDatabase}\" WITH (FORCE)");
        if (Directory.Exists(BackupRoot))
        {
            Directory.Delete(BackupRoot, recursive: true);
        }

        GC.SuppressFinalize(this);
    }

    private sealed class TestSystemCaller : ICallerContext
    {
        public Guid? UserId => null;

        public OrgRole? Role => null;

        public bool IsPlatformAdmin => false;

        public bool IsSystem => true;
    }
}
