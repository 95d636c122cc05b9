namespace CleanCrm.Application.Common.Security;

/// <summary>Where the current request comes from, for the platform audit log (docs/SECURITY.md, "Platform audit log").</summary>
public interface IRequestOrigin
{
    /// <summary><c>api</c>, <c>console</c>, <c>cli</c> or <c>job</c>.</summary>
    string Channel { get; }

    /// <summary>The client address as the host sees it (no proxy header is trusted unless the host configures one).</summary>
    string? IpAddress { get; }

    string? UserAgent { get; }
}

/// <summary>An origin that does not change during the process: the worker's jobs and the operator CLI.</summary>
public sealed record FixedRequestOrigin(string Channel, string? IpAddress = null, string? UserAgent = null) : IRequestOrigin
{
    public const string Api = "api";
    public const string Console = "console";
    public const string Cli = "cli";
    public const string Job = "job";
}
