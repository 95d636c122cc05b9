using CleanCrm.Infrastructure.Backups;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CleanCrm.IntegrationTests.Backups;

/// <summary>The backup's server processes at the lowest CPU priority, on a real local PostgreSQL.</summary>
public sealed class BackendPriorityTests
{
    [Fact]
    public void Only_servers_on_this_host_are_local()
    {
        BackendPriority.IsLocal("127.0.0.1").ShouldBeTrue();
        BackendPriority.IsLocal("::1").ShouldBeTrue();
        BackendPriority.IsLocal("localhost").ShouldBeTrue();
        BackendPriority.IsLocal("/var/run/postgresql").ShouldBeTrue();
        BackendPriority.IsLocal("10.0.0.5").ShouldBeFalse();
        BackendPriority.IsLocal("db.example.com").ShouldBeFalse();
        BackendPriority.IsLocal(null).ShouldBeFalse();
    }

    [Fact]
    public async Task The_session_of_a_running_dump_is_found_by_its_application_name_and_lowered()
    {
        var server = TestDatabaseServers.Primary;
        // The test scripts start the cluster on this host, as the postgres user when run as root (root may renice it)
        // or as the current user (who may lower the priority of their own processes).
        BackendPriority.IsLocal(server.Host).ShouldBeTrue($"the test cluster is expected on this host, not {server.Host}");

        var applicationName = $"cleancrm-backup-test-{Guid.NewGuid():N}";
        await using var fingerprints = new NpgsqlConnection(TestDatabaseServers.ConnectionString(server, "postgres"));
        await fingerprints.OpenAsync();
        BackendPriority.TryLower(fingerprints.ProcessID, NullLogger.Instance);
        Niceness(fingerprints.ProcessID).ShouldBe(19);

        var dumpFinished = new TaskCompletionSource();
        await using var dumpSession = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(
            TestDatabaseServers.ConnectionString(server, "postgres"))
        { ApplicationName = applicationName }.ConnectionString);
        await dumpSession.OpenAsync();
        Niceness(dumpSession.ProcessID).ShouldBe(0);

        await BackendPriority.LowerDumpSessionAsync(TestDatabaseServers.ConnectionString(server, "postgres"), applicationName,
            dumpFinished.Task, NullLogger.Instance, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(10));
        Niceness(dumpSession.ProcessID).ShouldBe(19);
    }

    private static int Niceness(int processId) => ProcStat.Field(processId, ProcStat.Nice);
}
