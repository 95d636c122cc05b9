using System.Diagnostics;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Provisioning.Worker;

namespace CleanCrm.IntegrationTests.Provisioning;

/// <summary><c>CleanCrm:Worker:LowCpuPriority</c> on real Linux processes (the test's own children only).</summary>
public sealed class WorkerCpuPriorityTests
{
    [Fact]
    public void A_session_leader_gets_its_autogroup_lowered_and_a_process_sharing_its_starters_session_is_left_alone()
    {
        // Without autogroup scheduling the setting has nothing to lower, so this scenario cannot run: say so.
        File.Exists("/proc/self/autogroup").ShouldBeTrue(
            "this kernel has no autogroup scheduling (/proc/self/autogroup is missing: CONFIG_SCHED_AUTOGROUP is off or the "
            + "kernel was booted with noautogroup), so the autogroup of a session leader cannot be checked here");
        var ownAutogroup = File.ReadAllText("/proc/self/autogroup").Trim();

        // --wait keeps setsid as the parent when it has to fork, so killing its process tree ends the sleeper too.
        using var leader = Process.Start(new ProcessStartInfo("setsid", ["--wait", "sleep", "30"]) { UseShellExecute = false })!;
        using var follower = Process.Start(new ProcessStartInfo("sleep", ["30"]) { UseShellExecute = false })!;
        try
        {
            var sleeper = WaitForSessionLeader(leader.Id);

            WorkerCpuPriority.Lower(sleeper).ShouldStartWith("lowered");
            File.ReadAllText($"/proc/{sleeper}/autogroup").ShouldContain("nice 19");

            WorkerCpuPriority.Lower(follower.Id).ShouldContain("does not lead its own session");
            File.ReadAllText($"/proc/{follower.Id}/autogroup").Trim().ShouldBe(ownAutogroup, "the test runner's autogroup is untouched");
            File.ReadAllText("/proc/self/autogroup").Trim().ShouldBe(ownAutogroup);
        }
        finally
        {
            foreach (var process in new[] { leader, follower }.Where(p => !p.HasExited))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }
    }

    // setsid forks only when its caller leads a process group; then the session leader is its child.
    private static int WaitForSessionLeader(int startedId)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            if (SessionOf(startedId) == startedId)
            {
                return startedId;
            }

            if (ChildLeadingASession(startedId) is { } child)
            {
                return child;
            }

            Thread.Sleep(20);
        }

        throw new InvalidOperationException($"setsid (pid {startedId}) did not start a session within 5 s");
    }

    private static int? ChildLeadingASession(int parentId)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var id) && ParentOf(id) == parentId && SessionOf(id) == id)
            {
                return id;
            }
        }

        return null;
    }

    private static int SessionOf(int processId) => ProcStat.Field(processId, ProcStat.SessionId);

    private static int ParentOf(int processId) => ProcStat.Field(processId, ProcStat.ParentId);
}
