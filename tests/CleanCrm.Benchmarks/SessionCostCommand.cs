using System.Diagnostics;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CleanCrm.Benchmarks;

internal sealed record SessionCostOptions(string Catalog, string Slug, int Opens, int DataSources, int? PostmasterPid)
{
    public static SessionCostOptions From(Dictionary<string, string> options) => new(
        options.GetValueOrDefault("catalog") ?? throw new ArgumentException("--catalog is required"),
        options.GetValueOrDefault("slug", "bench-0001"),
        int.Parse(options.GetValueOrDefault("opens", "200"), System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(options.GetValueOrDefault("data-sources", "200"), System.Globalization.CultureInfo.InvariantCulture),
        options.TryGetValue("postmaster-pid", out var pid) ? int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture) : null);
}

/// <summary>
/// The cost of a new tenant session, one ingredient at a time (issue 18, goal 3): physical opens by SCRAM iteration
/// count and SslMode; the first connection of a new data source with and without type loading, and the memory a data
/// source keeps; the catalog directory and secret lookups a new data source needs. Wall and CPU per operation of this
/// process, and of the server when --postmaster-pid is given (exited backends are reaped into its child CPU time).
/// </summary>
internal static class SessionCostCommand
{
    public static async Task<int> RunAsync(SessionCostOptions options, CancellationToken cancellationToken)
    {
        await using var services = SeedTenantsCommand.BuildServices(options.Catalog);
        var directory = services.GetRequiredService<TenantDirectory>();
        var secrets = services.GetRequiredService<ISecretStore>();
        var location = await directory.FindBySlugAsync(options.Slug, cancellationToken)
                       ?? throw new ArgumentException($"no organization '{options.Slug}'");
        var password = await secrets.GetAsync(SecretName.ForTenantDatabase(location.OrganizationId), cancellationToken)
                       ?? throw new InvalidOperationException("no tenant password");
        var admin = new NpgsqlConnectionStringBuilder(options.Catalog) { Database = "postgres", Pooling = false }.ConnectionString;
        var tenant = new NpgsqlConnectionStringBuilder
        {
            Host = location.Host,
            Port = location.Port,
            Database = location.DatabaseName,
            Username = location.DatabaseRole,
            Password = password,
            ApplicationName = "cleancrm-session-cost",
        };

        Console.WriteLine($"{"case",-52} {"wall ms/op",10} {"client cpu ms/op",16} {"server cpu ms/op",16}");
        foreach (var iterations in new[] { 4096, ScramVerifier.Iterations })
        {
            await ExecuteAsync(admin, $"ALTER ROLE \"{location.DatabaseRole}\" PASSWORD '{ScramVerifier.Create(password, iterations)}'");
            foreach (var ssl in new[] { SslMode.Prefer, SslMode.Disable })
            {
                var unpooled =
                    new NpgsqlConnectionStringBuilder(tenant.ConnectionString) { Pooling = false, SslMode = ssl }.ConnectionString;
                await MeasureAsync($"open + SELECT 1, SCRAM {iterations} iterations, SslMode={ssl}", options, async () =>
                {
                    await using var connection = new NpgsqlConnection(unpooled);
                    await connection.OpenAsync(cancellationToken);
                    await using var command = new NpgsqlCommand("SELECT 1", connection);
                    await command.ExecuteScalarAsync(cancellationToken);
                });
            }
        }

        var pooled = new NpgsqlConnectionStringBuilder(tenant.ConnectionString) { SslMode = SslMode.Disable }.ConnectionString;
        foreach (var typeLoading in new[] { true, false })
        {
            await MeasureAsync($"new data source, first query, type loading {(typeLoading ? "on" : "off")}", options, async () =>
            {
                await using var dataSource = Build(pooled, typeLoading);
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                await using var command = new NpgsqlCommand("SELECT name, search_vector FROM companies LIMIT 1", connection);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                _ = reader.GetFieldValue<NpgsqlTypes.NpgsqlTsVector>(1);
            });

            // What a data source with one parked connection keeps on the managed heap.
            var before = GC.GetTotalMemory(forceFullCollection: true);
            var kept = new List<(NpgsqlDataSource, NpgsqlConnection)>();
            for (var i = 0; i < options.DataSources; i++)
            {
                var dataSource = Build(pooled, typeLoading);
                var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                await using (var command = new NpgsqlCommand("SELECT 1", connection))
                {
                    await command.ExecuteScalarAsync(cancellationToken);
                }

                await connection.CloseAsync();
                kept.Add((dataSource, connection));
            }

            var after = GC.GetTotalMemory(forceFullCollection: true);
            var perSource = (after - before) / 1024.0 / kept.Count;
            Console.WriteLine($"  managed heap per data source with one parked connection: {perSource:0.0} KiB");
            foreach (var (dataSource, _) in kept)
            {
                await dataSource.DisposeAsync();
            }
        }

        var directoryWithoutCache = services.GetRequiredService<TenantDirectory>();
        await MeasureAsync("catalog directory lookup (cache off)", options,
            async () => await directoryWithoutCache.FindAsync(location.OrganizationId, cancellationToken));
        await MeasureAsync("secret store lookup (tenant password)", options,
            async () => await secrets.GetAsync(SecretName.ForTenantDatabase(location.OrganizationId), cancellationToken));
        return 0;
    }

    private static NpgsqlDataSource Build(string connectionString, bool typeLoading)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConfigureTypeLoading(types => types.EnableTypeLoading(typeLoading));
        return builder.Build();
    }

    private static async Task MeasureAsync(string name, SessionCostOptions options, Func<Task> operation)
    {
        for (var i = 0; i < 10; i++)
        {
            await operation();
        }

        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var server0 = ServerTicks(options.PostmasterPid);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < options.Opens; i++)
        {
            await operation();
        }

        var wall = clock.Elapsed.TotalMilliseconds / options.Opens;
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpu0).TotalMilliseconds / options.Opens;
        // Backends exit asynchronously after the client closes; give the postmaster a moment to reap the last ones.
        await Task.Delay(200);
        var server = options.PostmasterPid is null ? "-" : $"{(ServerTicks(options.PostmasterPid) - server0) * 10.0 / options.Opens:0.00}";
        Console.WriteLine($"{name,-52} {wall,10:0.00} {cpu,16:0.00} {server,16}");
    }

    // utime + stime + cutime + cstime of the postmaster in clock ticks (100 per second on Linux).
    private static long ServerTicks(int? pid)
    {
        if (pid is null)
        {
            return 0;
        }

        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields[11..15].Sum(field => long.Parse(field, System.Globalization.CultureInfo.InvariantCulture));
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
