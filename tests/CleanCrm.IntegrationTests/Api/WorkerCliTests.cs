using System.Diagnostics;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Api;

/// <summary>The operator CLI as an operator runs it: a real process, configured through environment variables.</summary>
[Collection(PlatformCollection.Name)]
public sealed class WorkerCliTests
{
    [Fact]
    public async Task Migrate_creates_the_catalog_schema_and_template_and_exits_zero()
    {
        var catalog = $"cct_cli_{Guid.NewGuid():N}"[..30];
        var template = catalog + "_tpl";
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"CREATE DATABASE \"{catalog}\"");
        try
        {
            var (exit, output) = await RunAsync(["migrate"], Environment(catalog, template));
            exit.ShouldBe(0, output);
            output.ShouldContain("template databases");
            (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, catalog, "SELECT count(*) FROM plans")).ShouldBe(3);
            (await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
                "SELECT count(*) FROM pg_database WHERE datname = $1", template)).ShouldBe(1);

            var (listExit, listing) = await RunAsync(["tenants", "list"], Environment(catalog, template));
            listExit.ShouldBe(0, listing);
            listing.ShouldContain("schema version");

            var (missingExit, missing) = await RunAsync(["suspend", "no-such-org"], Environment(catalog, template));
            missingExit.ShouldBe(2);
            missing.ShouldContain("No organization");
        }
        finally
        {
            await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"DROP DATABASE IF EXISTS \"{template}\" WITH (FORCE)");
            await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary, $"DROP DATABASE IF EXISTS \"{catalog}\" WITH (FORCE)");
        }
    }

    [Fact]
    public async Task Migrate_against_an_unreachable_catalog_exits_non_zero_with_the_reason()
    {
        var environment = Environment("nowhere", "nowhere_tpl");
        environment["ConnectionStrings__Catalog"] = "Host=127.0.0.1;Port=1;Database=nowhere;Timeout=2";
        var (exit, output) = await RunAsync(["migrate"], environment);
        exit.ShouldNotBe(0);
        output.ShouldContain("migration failed");
    }

    [Fact]
    public async Task Help_lists_the_verbs()
    {
        var (exit, output) = await RunAsync(["--help"], Environment("x", "y"));
        exit.ShouldBe(0);
        output.ShouldContain("migrate");
        output.ShouldContain("serve");
        output.ShouldContain("tenants");
        output.ShouldContain("provision");
        output.ShouldContain("suspend");
        output.ShouldContain("resume");
    }

    private Dictionary<string, string> Environment(string catalog, string template)
    {
        var primary = TestDatabaseServers.Primary;
        return new Dictionary<string, string>
        {
            ["ConnectionStrings__Catalog"] = TestDatabaseServers.ConnectionString(primary, catalog),
            ["CleanCrm__Tenancy__TemplateDatabase"] = template,
            ["CleanCrm__Tenancy__DefaultServer__Host"] = primary.Host!,
            ["CleanCrm__Tenancy__DefaultServer__Port"] = primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CleanCrm__Tenancy__DefaultServer__Username"] = primary.Username!,
            ["CleanCrm__Tenancy__DefaultServer__Password"] = primary.Password!,
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
    }

    internal static async Task<(int Exit, string Output)> RunAsync(string[] args, Dictionary<string, string> environment)
    {
        var worker = Path.Combine(AppContext.BaseDirectory, "CleanCrm.Provisioning.Worker.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory
        };
        start.ArgumentList.Add(worker);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        start.Environment["COLUMNS"] = "200";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
