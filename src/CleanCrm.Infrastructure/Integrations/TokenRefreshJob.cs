using System.ComponentModel;
using CleanCrm.Application.Integrations;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Email;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations;

/// <summary>
/// Refreshes access tokens before they expire (every 5 minutes). A grant the provider no longer accepts (<c>invalid_grant</c>,
/// Slack's <c>invalid_refresh_token</c>) marks the connection <c>needs_reauth</c> and mails the user who connected it; other
/// failures are recorded in <c>lastError</c> and tried again on the next run.
/// </summary>
public sealed partial class TokenRefreshJob(
    IDbContextFactory<CatalogDbContext> catalog,
    OAuthClient oauth,
    IntegrationTokenStore tokens,
    EmailQueue mail,
    IOptions<IntegrationOptions> options,
    IntegrationMetrics metrics,
    TimeProvider clock,
    ILogger<TokenRefreshJob> logger)
{
    public const string RecurringJobId = "integration-token-refresh";
    private const int BatchSize = 100;

    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Refresh integration tokens")]
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var refreshed = 0;
        var horizon = clock.GetUtcNow().AddMinutes(options.Value.RefreshBeforeExpiryMinutes);
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        var due = await db.IntegrationConnections.AsNoTracking()
            .Where(c => c.Status == IntegrationStatuses.Connected && c.AccessTokenExpiresAt != null && c.AccessTokenExpiresAt < horizon)
            .OrderBy(c => c.AccessTokenExpiresAt).Select(c => c.Id).Take(BatchSize).ToListAsync(cancellationToken);
        foreach (var id in due)
        {
            if (await RefreshOneAsync(id, horizon, cancellationToken))
            {
                refreshed++;
            }
        }

        return refreshed;
    }

    /// <summary>Refreshes one connection under a row lock, so two workers never spend a rotating refresh token twice.</summary>
    public async Task<bool> RefreshOneAsync(Guid connectionId, DateTimeOffset horizon, CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var connection = await db.IntegrationConnections
            .FromSql($"SELECT * FROM integration_connections WHERE id = {connectionId} FOR UPDATE SKIP LOCKED")
            .FirstOrDefaultAsync(cancellationToken);
        if (connection is null || connection.Status != IntegrationStatuses.Connected || connection.AccessTokenExpiresAt >= horizon)
        {
            return false;
        }

        var now = clock.GetUtcNow();
        var stored = await tokens.GetAsync(connection.Id, cancellationToken);
        var result = stored is null
            ? TokenResult.Failed("invalid_grant", "The connection's tokens are missing from the secret store.")
            : await oauth.RefreshAsync(connection.Provider, stored, cancellationToken);
        connection.UpdatedAt = now;
        if (result.Tokens is { } renewed)
        {
            await tokens.SetAsync(connection.Id, renewed, cancellationToken);
            connection.AccessTokenExpiresAt = renewed.ExpiresAt;
            connection.LastError = null;
            metrics.Refreshed(connection.Provider, "refreshed");
        }
        else if (result.NeedsReauthorization)
        {
            connection.Status = IntegrationStatuses.NeedsReauth;
            connection.LastError = Describe(result);
            await MailConnectingUserAsync(db, connection, cancellationToken);
            metrics.Refreshed(connection.Provider, "needs_reauth");
            LogNeedsReauth(logger, connection.Provider, connection.OrganizationId, result.Error);
        }
        else
        {
            connection.LastError = Describe(result);
            metrics.Refreshed(connection.Provider, "failed");
            LogRefreshFailed(logger, connection.Provider, connection.OrganizationId, result.Error);
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return result.Tokens is not null;
    }

    private async Task MailConnectingUserAsync(CatalogDbContext db, IntegrationConnection connection, CancellationToken cancellationToken)
    {
        var recipient = await db.Users.AsNoTracking().Where(u => u.Id == connection.ConnectedBy)
            .Select(u => new { u.Email, u.Name }).FirstOrDefaultAsync(cancellationToken);
        var organization = await db.Organizations.AsNoTracking().Where(o => o.Id == connection.OrganizationId)
            .Select(o => o.Name).FirstOrDefaultAsync(cancellationToken);
        if (recipient is null || organization is null || !Uri.TryCreate(options.Value.SpaRedirectUrl, UriKind.Absolute, out var page))
        {
            return;
        }

        // Queued in this transaction: a refresh that rolls back mails nobody.
        mail.Add(db, IntegrationEmails.NeedsReauthorization(connection.OrganizationId, recipient.Email, recipient.Name, organization,
            connection.Provider, page));
    }

    private static string Describe(TokenResult result)
    {
        var text = result.ErrorDescription is { Length: > 0 } description ? $"{result.Error}: {description}" : result.Error ?? "error";
        return text.Length <= 500 ? text : text[..500];
    }

    /// <summary>Registers the recurring job (every 5 minutes).</summary>
    public static void Register(IRecurringJobManager manager)
    {
        ArgumentNullException.ThrowIfNull(manager);
        manager.AddOrUpdate<TokenRefreshJob>(RecurringJobId, job => job.RunAsync(CancellationToken.None), "*/5 * * * *");
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "{Provider} refused to refresh the tokens of organization {OrganizationId} ({Error}); marked needs_reauth")]
    private static partial void LogNeedsReauth(ILogger logger, string provider, Guid organizationId, string? error);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Refreshing the {Provider} tokens of organization {OrganizationId} failed ({Error}); tried again next run")]
    private static partial void LogRefreshFailed(ILogger logger, string provider, Guid organizationId, string? error);
}
