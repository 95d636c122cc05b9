using System.Collections.Concurrent;

namespace CleanCrm.IntegrationTests.Secrets;

/// <summary>
/// Records each request exactly as the client put it on the wire, before the stub's server normalises it,
/// and accepts the stub's self-signed certificate (only ever used against the test stub).
/// </summary>
internal sealed class WireRecordingHandler : DelegatingHandler
{
    private readonly ConcurrentQueue<string> _requests = new();

    public WireRecordingHandler()
        : base(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
        })
    {
    }

    /// <summary>"METHOD path-and-query" of every request sent.</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _requests.Enqueue($"{request.Method} {request.RequestUri!.PathAndQuery}");
        return base.SendAsync(request, cancellationToken);
    }

    // SecretClient's synchronous methods send with HttpClient.Send, which does not go through SendAsync.
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _requests.Enqueue($"{request.Method} {request.RequestUri!.PathAndQuery}");
        return base.Send(request, cancellationToken);
    }
}
