using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CleanCrm.Testing;
using Microsoft.Playwright;
using Npgsql;

namespace CleanCrm.ConsoleTests.Support;

/// <summary>One console stack shared by every browser test (starting it takes most of the run).</summary>
[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleStack>
{
    public const string Name = "console";
}

/// <summary>
/// The real thing, as an operator runs it: the worker's <c>migrate</c>, then the worker (<c>serve</c>), the API and the
/// provisioning console as processes from the build output, on their own catalog on the PostgreSQL servers that
/// scripts/test.sh starts, plus an SMTP sink and headless Chromium (Debian's, never a downloaded one). A platform admin
/// comes from configuration (<c>CleanCrm:Identity:BootstrapAdmin</c>) and the console's client secret is new every run.
/// Everything started here is stopped (process groups) and every database created is dropped on dispose.
/// </summary>
public sealed class ConsoleStack : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(180);

    private readonly string _suffix = Guid.NewGuid().ToString("N")[..10];
    private readonly List<ManagedProcess> _processes = [];
    private readonly string _consoleClientSecret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
    private IPlaywright? _playwright;
    private bool _disposed;

    public ConsoleStack()
    {
        RepositoryRoot = FindRepositoryRoot();
        ResultsDirectory = Path.Combine(RepositoryRoot, ".local", "test-results");
        ScreenshotDirectory = Path.Combine(ResultsDirectory, "console-screenshots");
        LogDirectory = Path.Combine(ResultsDirectory, "console-logs");
        AdminEmail = $"admin-{_suffix}@console.cleancrm.test";
        AdminPassword = $"Quiet harbour {_suffix} 77!";
    }

    public string RepositoryRoot { get; }

    public string ResultsDirectory { get; }

    public string ScreenshotDirectory { get; }

    public string LogDirectory { get; }

    public string AdminEmail { get; }

    public string AdminPassword { get; }

    public Uri ApiUrl { get; private set; } = null!;

    public Uri ConsoleUrl { get; private set; } = null!;

    public string CatalogDatabase => $"cct_console_catalog_{_suffix}";

    public string TemplateDatabase => $"cct_console_template_{_suffix}";

    public string BackupRoot => Path.Combine(Path.GetTempPath(), $"cct_console_backups_{_suffix}");

    public TestMailServer Mail { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public ApiCalls Api { get; private set; } = null!;

    public string CatalogConnectionString => TestDatabaseServers.ConnectionString(TestDatabaseServers.Primary, CatalogDatabase);

    public async Task InitializeAsync()
    {
        // Checked first: without a browser or a database server the scenario cannot run, and every test fails saying why.
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"{ChromiumPath} is missing: the console tests drive Debian's chromium (scripts/test.sh installs it with apt-get).");
        }

        var primary = TestDatabaseServers.Primary;
        Directory.CreateDirectory(ScreenshotDirectory);
        // Only this run's logs: their tails explain this run's failures.
        if (Directory.Exists(LogDirectory))
        {
            Directory.Delete(LogDirectory, recursive: true);
        }

        Directory.CreateDirectory(LogDirectory);
        try
        {
            try
            {
                await TestDatabaseServers.ExecuteAsync(primary, $"CREATE DATABASE \"{CatalogDatabase}\"");
            }
            catch (NpgsqlException exception)
            {
                throw new InvalidOperationException(
                    $"PostgreSQL at {primary.Host}:{primary.Port} (CLEANCRM_TEST_PG) does not answer: {exception.Message}", exception);
            }

            Mail = TestMailServer.Start();
            ApiUrl = new Uri($"http://127.0.0.1:{FreePort()}");
            ConsoleUrl = new Uri($"http://127.0.0.1:{FreePort()}");
            var environment = ProcessEnvironment();

            var configuration = BuildConfiguration();
            var worker = Output("provisioning/CleanCrm.Provisioning.Worker", "CleanCrm.Provisioning.Worker", configuration);
            var api = Output("src/CleanCrm.Api", "CleanCrm.Api", configuration);
            var console = Output("provisioning/CleanCrm.Console", "CleanCrm.Console", configuration);

            await using (var migrate =
                ManagedProcess.Start("migrate", worker.Project, environment, LogDirectory, "dotnet", worker.Dll, "migrate"))
            {
                await migrate.RunToCompletionAsync(ReadyTimeout);
            }

            _processes.Add(ManagedProcess.Start("worker", worker.Project, environment, LogDirectory, "dotnet", worker.Dll, "serve"));
            _processes.Add(ManagedProcess.Start("api", api.Project, environment, LogDirectory, "dotnet", api.Dll,
                "--urls", ApiUrl.ToString().TrimEnd('/')));
            _processes.Add(ManagedProcess.Start("console", console.Project, environment, LogDirectory, "dotnet", console.Dll,
                "--urls", ConsoleUrl.ToString().TrimEnd('/')));

            Api = new ApiCalls(ApiUrl);
            await WaitUntilReadyAsync();

            // Live values poll every 2 s and the machine is shared with the other test assemblies: more than Playwright's 5 s.
            Assertions.SetDefaultExpectTimeout(15_000);
            _playwright = await Playwright.CreateAsync();
            Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu"],
            });
        }
        catch (Exception exception)
        {
            var tails = LogTails();
            try
            {
                await DisposeAsync();
            }
            catch (Exception cleanup) when (cleanup is NpgsqlException or IOException)
            {
                tails += $"\n(cleaning up failed too: {cleanup.Message})";
            }

            throw new InvalidOperationException($"The console stack did not start: {exception.Message}\n{tails}", exception);
        }
    }

    /// <summary>A fresh browser context (own cookies) with the 1280 px wide viewport the screenshots use.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            BaseURL = ConsoleUrl.ToString(),
        });
        context.SetDefaultTimeout(15_000);
        return await context.NewPageAsync();
    }

    /// <summary>The tails of every process log, for a failure message.</summary>
    public string LogTails(int lines = 40) =>
        string.Join('\n', Directory.Exists(LogDirectory)
            ? Directory.GetFiles(LogDirectory, "*.log").Order(StringComparer.Ordinal).Select(path => Tail(path, lines))
            : []);

    /// <summary>A process that died is the likeliest cause of a failing test; say so.</summary>
    public void EnsureRunning()
    {
        var dead = _processes.Where(p => p.HasExited).ToList();
        if (dead.Count > 0)
        {
            throw new InvalidOperationException(
                $"{string.Join(", ", dead.Select(p => $"{p.Name} (exit code {p.ExitCode})"))} exited.\n{LogTails()}");
        }
    }

    public async Task ExecuteCatalogAsync(string sql) =>
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, sql, CatalogDatabase);

    // xunit disposes a fixture whose start failed once more after the start already cleaned up.
    public async Task DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }

        _processes.Clear();
        Api?.Dispose();
        if (Mail is not null)
        {
            await Mail.DisposeAsync();
        }

        await DropDatabasesAsync();
        if (Directory.Exists(BackupRoot))
        {
            Directory.Delete(BackupRoot, recursive: true);
        }
    }

    private Dictionary<string, string?> BuildSettings()
    {
        var primary = TestDatabaseServers.Primary;
        var consoleBase = ConsoleUrl.ToString().TrimEnd('/');
        return new Dictionary<string, string?>
        {
            ["ConnectionStrings:Catalog"] = TestDatabaseServers.ConnectionString(primary, CatalogDatabase, pooling: true),
            ["CleanCrm:Tenancy:TemplateDatabase"] = TemplateDatabase,
            ["CleanCrm:Tenancy:DefaultServer:Name"] = "primary",
            ["CleanCrm:Tenancy:DefaultServer:Host"] = primary.Host,
            ["CleanCrm:Tenancy:DefaultServer:Port"] = primary.Port.ToString(CultureInfo.InvariantCulture),
            ["CleanCrm:Tenancy:DefaultServer:Username"] = primary.Username,
            ["CleanCrm:Tenancy:DefaultServer:Password"] = primary.Password,
            // A suspension must reach the API at once, not after the directory cache expires.
            ["CleanCrm:Tenancy:DirectoryCacheSeconds"] = "0",
            ["CleanCrm:Provisioning:RetryDelayMs"] = "20",
            ["CleanCrm:Provisioning:RequeueAfterSeconds"] = "2",
            ["CleanCrm:Jobs:QueuePollIntervalMs"] = "200",
            ["CleanCrm:Backups:FileSystemRoot"] = BackupRoot,
            ["CleanCrm:AbuseProtection:TokenRequestsPerMinutePerIp"] = "100000",
            ["CleanCrm:AbuseProtection:SignupsPerMinutePerIp"] = "100000",
            ["CleanCrm:AbuseProtection:SignInAttemptsPerMinutePerAccount"] = "100000",
            ["CleanCrm:RateLimiting:Enabled"] = "false",
            ["CleanCrm:Identity:SigningKey"] = NewRsaPem(),
            ["CleanCrm:Identity:EncryptionKey"] = NewRsaPem(),
            ["CleanCrm:Identity:BootstrapAdmin:Email"] = AdminEmail,
            ["CleanCrm:Identity:BootstrapAdmin:Password"] = AdminPassword,
            ["CleanCrm:Identity:ConsoleClientSecret"] = _consoleClientSecret,
            ["CleanCrm:Identity:ConsoleRedirectUris:0"] = $"{consoleBase}/signin-oidc",
            ["CleanCrm:Identity:ConsolePostLogoutRedirectUris:0"] = $"{consoleBase}/signout-callback-oidc",
            ["CleanCrm:Console:ApiBaseUrl"] = ApiUrl.ToString().TrimEnd('/'),
            ["CleanCrm:Console:ClientSecret"] = _consoleClientSecret,
            ["CleanCrm:Email:Smtp:Host"] = "127.0.0.1",
            ["CleanCrm:Email:Smtp:Port"] = Mail.Port.ToString(CultureInfo.InvariantCulture),
            ["CleanCrm:Email:Smtp:Security"] = "None",
            ["CleanCrm:Email:PublicBaseUrl"] = "https://app.cleancrm.test",
            ["CleanCrm:Email:RequeueAfterSeconds"] = "2",
        };
    }

    /// <summary>The settings as environment variables (<c>A:B</c> → <c>A__B</c>), in Development like scripts/run.sh.</summary>
    private Dictionary<string, string?> ProcessEnvironment()
    {
        var environment = BuildSettings().ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value);
        environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        environment["DOTNET_ENVIRONMENT"] = "Development";
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        return environment;
    }

    private async Task WaitUntilReadyAsync()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + ReadyTimeout;
        var apiReady = false;
        var consoleReady = false;
        while (!(apiReady && consoleReady))
        {
            EnsureRunning();
            if (DateTime.UtcNow > deadline)
            {
                var waiting = new[]
                {
                    apiReady ? null : $"API {ApiUrl}health/ready", consoleReady ? null : $"console {ConsoleUrl}health/ready",
                };
                throw new TimeoutException(
                    $"Not ready within {ReadyTimeout.TotalSeconds} s: {string.Join(", ", waiting.OfType<string>())}");
            }

            apiReady = apiReady || await AnswersAsync(http, new Uri(ApiUrl, "/health/ready"), ok => ok == HttpStatusCode.OK);
            consoleReady = consoleReady || await AnswersAsync(http, new Uri(ConsoleUrl, "/health/ready"), ok => ok == HttpStatusCode.OK);
            if (!(apiReady && consoleReady))
            {
                await Task.Delay(250);
            }
        }
    }

    private static async Task<bool> AnswersAsync(HttpClient http, Uri url, Func<HttpStatusCode, bool> ready)
    {
        try
        {
            using var response = await http.GetAsync(url);
            return ready(response.StatusCode);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private (string Project, string Dll) Output(string project, string assembly, string configuration)
    {
        var directory = Path.Combine(RepositoryRoot, project);
        var dll = Path.Combine(directory, "bin", configuration, "net10.0", $"{assembly}.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException(
                $"{dll} does not exist: build the solution first (scripts/test.sh builds it in {configuration}).");
        }

        return (directory, dll);
    }

    // The processes come from the same configuration as this test assembly (scripts/test.sh builds Release).
    private static string BuildConfiguration() =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Debug"
            : "Release";

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CleanCrm.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No CleanCrm.sln above {AppContext.BaseDirectory}.");
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static string NewRsaPem()
    {
        using var rsa = RSA.Create(2048);
        return rsa.ExportPkcs8PrivateKeyPem();
    }

    private static string Tail(string path, int lines)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return $"--- last {lines} lines of {path}\n{string.Join('\n', all.TakeLast(lines))}";
        }
        catch (IOException exception)
        {
            return $"--- {path}: {exception.Message}";
        }
    }

    /// <summary>Every tenant, restored copy and template database this stack made, then its catalog.</summary>
    private async Task DropDatabasesAsync()
    {
        var databases = new List<string>();
        var roles = new List<string>();
        try
        {
            await using var connection = new NpgsqlConnection(CatalogConnectionString);
            await connection.OpenAsync();
            await using (var command = new NpgsqlCommand(
                "SELECT database_name, database_role FROM organizations WHERE database_name IS NOT NULL", connection))
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    databases.Add(reader.GetString(0));
                    roles.Add(reader.GetString(1));
                }
            }

            await using (var command = new NpgsqlCommand(
                "SELECT database_name FROM backup_restores WHERE database_name IS NOT NULL UNION " +
                "SELECT previous_database_name FROM backup_restores WHERE previous_database_name IS NOT NULL", connection))
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    databases.Add(reader.GetString(0));
                }
            }
        }
        catch (Exception exception) when (exception is PostgresException or NpgsqlException or InvalidOperationException)
        {
            // A catalog that never got migrated has nothing to list.
        }

        NpgsqlConnection.ClearAllPools();
        var servers = new[] { TestDatabaseServers.Primary, TestDatabaseServers.Secondary }.DistinctBy(s => (s.Host, s.Port));
        foreach (var server in servers)
        {
            foreach (var database in databases.Append(TemplateDatabase).Distinct(StringComparer.Ordinal))
            {
                await TestDatabaseServers.ExecuteAsync(server, $"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
            }

            foreach (var role in roles.Distinct(StringComparer.Ordinal))
            {
                await TestDatabaseServers.ExecuteAsync(server, $"DROP ROLE IF EXISTS \"{role}\"");
            }
        }

        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"DROP DATABASE IF EXISTS \"{CatalogDatabase}\" WITH (FORCE)");
    }
}
