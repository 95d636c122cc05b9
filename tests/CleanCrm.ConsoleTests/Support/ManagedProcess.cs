using System.Diagnostics;
using System.Globalization;

namespace CleanCrm.ConsoleTests.Support;

/// <summary>
/// One real process of the stack (worker, API, console) started through <c>setsid</c>, so it leads its own process group:
/// stopping the group also stops whatever it started (pg_dump, pg_restore). Its output goes to a log file whose tail is shown
/// when something fails.
/// </summary>
public sealed class ManagedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logLock = new();

    private ManagedProcess(string name, Process process, string logPath, StreamWriter log)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
        _log = log;
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static ManagedProcess Start(string name, string workingDirectory, IReadOnlyDictionary<string, string?> environment,
        string logDirectory, params string[] command)
    {
        Directory.CreateDirectory(logDirectory);
        var logPath = Path.Combine(logDirectory, $"{name}.log");
        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var start = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var part in command)
        {
            start.ArgumentList.Add(part);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var managed = new ManagedProcess(name, process, logPath, log);
        process.OutputDataReceived += (_, e) => managed.Append(e.Data);
        process.ErrorDataReceived += (_, e) => managed.Append(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"{name}: could not start {string.Join(' ', command)}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return managed;
    }

    /// <summary>Waits for a short-lived command (the migration); fails with its log tail when it fails or takes too long.</summary>
    public async Task RunToCompletionAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException($"{Name} did not finish within {timeout.TotalSeconds} s.\n{Tail()}");
        }

        if (_process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}.\n{Tail()}");
        }
    }

    public string Tail(int lines = 40)
    {
        string[] all;
        lock (_logLock)
        {
            _log.Flush();
            all = File.ReadAllLines(LogPath);
        }

        return $"--- last {Math.Min(lines, all.Length)} lines of {LogPath}\n{string.Join('\n', all.TakeLast(lines))}";
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            _log.WriteLine(line);
        }
    }

    /// <summary>TERM to the whole group, a grace period, then KILL to whatever is left.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited || GroupAlive())
        {
            Signal("TERM");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (GroupAlive() && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            if (GroupAlive())
            {
                Signal("KILL");
            }
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        lock (_logLock)
        {
            _log.Dispose();
        }
    }

    // setsid execs in place (the child of this process is no group leader), so the pid is also the process group id.
    private bool GroupAlive() => RunKill("-0") == 0;

    private void Signal(string signal) => RunKill($"-{signal}");

    private int RunKill(string signal)
    {
        var start = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
        start.ArgumentList.Add(signal);
        start.ArgumentList.Add("--");
        start.ArgumentList.Add("-" + _process.Id.ToString(CultureInfo.InvariantCulture));
        using var kill = Process.Start(start)!;
        kill.StandardError.ReadToEnd();
        kill.WaitForExit();
        return kill.ExitCode;
    }
}
