using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Integrations.Webhooks;

/// <summary>
/// Slack events: the app removed from the workspace or its tokens revoked → every connection through that workspace is
/// <c>revoked</c> and its tokens deleted (they are dead at Slack already).
/// </summary>
public sealed class SlackWebhookHandler(IDbContextFactory<CatalogDbContext> catalog, IntegrationTokenStore tokens, TimeProvider clock)
    : IWebhookHandler
{
    public string Provider => IntegrationProviders.Slack;

    public async Task HandleAsync(IntegrationConnection connection, string type, string payload, CancellationToken cancellationToken)
    {
        if (type is not ("app_uninstalled" or "tokens_revoked"))
        {
            return;
        }

        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var affected = await db.IntegrationConnections.Where(c => c.Provider == IntegrationProviders.Slack
                && (c.Id == connection.Id || (connection.ExternalAccountId != null && c.ExternalAccountId == connection.ExternalAccountId)))
            .Select(c => c.Id).ToListAsync(cancellationToken);
        foreach (var id in affected)
        {
            await tokens.DeleteAsync(id, cancellationToken);
        }

        await db.IntegrationConnections.Where(c => affected.Contains(c.Id)).ExecuteUpdateAsync(s => s
            .SetProperty(c => c.Status, IntegrationStatuses.Revoked)
            .SetProperty(c => c.LastError, $"Slack reported {type}; connect Slack again to resume notifications.")
            .SetProperty(c => c.AccessTokenExpiresAt, (DateTimeOffset?)null)
            .SetProperty(c => c.UpdatedAt, clock.GetUtcNow()), cancellationToken);
    }
}
