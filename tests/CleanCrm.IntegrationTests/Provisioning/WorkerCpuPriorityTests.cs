using System.Diagnostics;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Provisioning.Worker;

namespace CleanCrm.IntegrationTests.Provisioning;

/// <summary><c>CleanCrm:Worker:LowCpuPriority</c> on real Linux processes.</summary>
public sealed class WorkerCpuPriorityTests
{
    [Fact]
    public void A_session_leader_gets_its_autogroup_lowered_and_a_process_sharing_its_starters_session_is_left_alone()
    {
        if (!File.Exists("/proc/self/autogroup"))
        {
            // A kernel without autogroup scheduling: the setting says so and changes nothing.
            WorkerCpuPriority.Lower(Environment.ProcessId).ShouldContain("no autogroup scheduling");
            return;
        }

        var ownAutogroup = File.ReadAllText("/proc/self/autogroup").Trim();

        using var leader = Process.Start(new ProcessStartInfo("setsid", ["sleep", "30"]) { UseShellExecute = false })!;
        using var follower = Process.Start(new ProcessStartInfo("sleep", ["30"]) { UseShellExecute = false })!;
        try
        {
            // setsid forks when its caller leads a process group; wait until the sleeping process has its own session.
            var sleeper = WaitForSessionLeader(leader.Id);

            WorkerCpuPriority.Lower(sleeper).ShouldStartWith("lowered");
            File.ReadAllText($"/proc/{sleeper}/autogroup").ShouldContain("nice 19");

            WorkerCpuPriority.Lower(follower.Id).ShouldContain("does not lead its own session");
            File.ReadAllText($"/proc/{follower.Id}/autogroup").Trim().ShouldBe(ownAutogroup, "the test runner's own autogroup is untouched");
            File.ReadAllText("/proc/self/autogroup").Trim().ShouldBe(ownAutogroup);
        }
        finally
        {
            foreach (var process in new[] { leader, follower }.Where(p => !p.HasExited))
            {
                process.Kill(entireProcessTree: true);
            }

            foreach (var orphan in Process.GetProcessesByName("sleep").Where(p => SessionOf(p.Id) == p.Id && File.ReadAllText($"/proc/{p.Id}/autogroup").Contains("nice 19", StringComparison.Ordinal)))
            {
                orphan.Kill();
            }
        }
    }

    private static int WaitForSessionLeader(int startedId)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (SessionOf(startedId) == startedId)
            {
                return startedId;
            }

            var child = Process.GetProcessesByName("sleep").FirstOrDefault(p => SessionOf(p.Id) == p.Id && ParentOf(p.Id) == startedId);
            if (child is not null)
            {
                return child.Id;
            }

            Thread.Sleep(20);
        }

        throw new InvalidOperationException("setsid did not start a session");
    }

    private static int SessionOf(int processId) => ProcStat.Field(processId, ProcStat.SessionId);

    private static int ParentOf(int processId) => ProcStat.Field(processId, ProcStat.ParentId);
}
