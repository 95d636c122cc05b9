using System.Text.Json;
using CleanCrm.Application.Common.Secrets;

namespace CleanCrm.Infrastructure.Integrations;

/// <summary>A connection's tokens in the secret store (one secret per connection, JSON); the only place they are kept.</summary>
public sealed class IntegrationTokenStore(ISecretStore secrets)
{
    public static string SecretName(Guid connectionId) => $"integration-{connectionId:N}";

    public async Task<IntegrationTokens?> GetAsync(Guid connectionId, CancellationToken cancellationToken) =>
        await secrets.GetAsync(SecretName(connectionId), cancellationToken) is { } json
            ? JsonSerializer.Deserialize<IntegrationTokens>(json)
            : null;

    public Task SetAsync(Guid connectionId, IntegrationTokens tokens, CancellationToken cancellationToken) =>
        secrets.SetAsync(SecretName(connectionId), JsonSerializer.Serialize(tokens), cancellationToken);

    public Task DeleteAsync(Guid connectionId, CancellationToken cancellationToken) =>
        secrets.DeleteAsync(SecretName(connectionId), cancellationToken);
}
