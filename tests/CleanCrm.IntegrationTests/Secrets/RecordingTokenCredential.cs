using System.Collections.Concurrent;
using Azure.Core;

namespace CleanCrm.IntegrationTests.Secrets;

/// <summary>Hands out one fixed token and remembers what each caller asked for.</summary>
internal sealed class RecordingTokenCredential(string token) : TokenCredential
{
    private readonly ConcurrentQueue<TokenRequestContext> _requests = new();

    public IReadOnlyList<TokenRequestContext> Requests => [.. _requests];

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        _requests.Enqueue(requestContext);
        return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));
}
