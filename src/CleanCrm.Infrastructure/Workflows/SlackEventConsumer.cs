using System.Globalization;
using System.Text.Json;
using CleanCrm.Application.Common.Features;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Integrations.Webhooks;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Persistence.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Workflows;

/// <summary>
/// The Slack consumer of the outbox (issue 21's notifications): for the events the organization chose, one message each,
/// posted after commit by the existing <see cref="SlackNotificationJob"/> (chat.postMessage, <c>ok</c> checked, 429
/// Retry-After honoured). Nothing when the feature is off, Slack is not connected or nothing was chosen.
/// </summary>
public sealed class SlackEventConsumer(IFeatures features, IDbContextFactory<CatalogDbContext> catalog, IServiceProvider services)
    : IDomainEventConsumer
{
    public const string ConsumerName = "slack";

    public string Name => ConsumerName;

    public async Task<Action?> ConsumeAsync(Guid organizationId, TenantDbContext db, IReadOnlyList<DomainEvent> events,
        CancellationToken cancellationToken)
    {
        var chosen = (await db.SlackNotificationSettings.AsNoTracking().FirstOrDefaultAsync(cancellationToken))?.Events ?? [];
        var wanted = events.Where(e => chosen.Contains(e.Type)).ToList();
        if (wanted.Count == 0 || !await features.IsEnabledAsync(organizationId, PremiumFeatures.SlackIntegration, cancellationToken))
        {
            return null;
        }

        await using (var catalogDb = await catalog.CreateDbContextAsync(cancellationToken))
        {
            if (!await catalogDb.IntegrationConnections.AnyAsync(c => c.OrganizationId == organizationId
                    && c.Provider == IntegrationProviders.Slack && c.Status == IntegrationStatuses.Connected, cancellationToken))
            {
                return null;
            }
        }

        var stages = await db.PipelineStages.AsNoTracking().ToDictionaryAsync(s => s.Id, s => s.Name, cancellationToken);
        var texts = wanted.Select(e => Text(e, stages)).ToList();
        return () =>
        {
            foreach (var text in texts)
            {
                SlackNotificationJob.Enqueue(services, organizationId, text);
            }
        };
    }

    /// <summary>A meeting's summary arrived: its title, and its recording link when the location is one (Fathom's share URL).</summary>
    private static string MeetingText(JsonElement meeting)
    {
        var title = meeting.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : "Meeting";
        var link = meeting.TryGetProperty("location", out var l) && l.ValueKind == JsonValueKind.String
                   && Uri.TryCreate(l.GetString(), UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps
            ? $" — {uri}"
            : string.Empty;
        return $"New meeting summary: {title}{link}";
    }

    /// <summary>The message for one event: what happened to which deal (with its amount), or which meeting was summarised.</summary>
    public static string Text(DomainEvent domainEvent, IReadOnlyDictionary<Guid, string> stages)
    {
        using var data = JsonDocument.Parse(domainEvent.Data);
        var root = data.RootElement;
        var name = root.TryGetProperty("name", out var n) ? n.GetString() : "A deal";
        var amount = root.TryGetProperty("amount", out var a) && a.ValueKind == JsonValueKind.Number
                     && root.TryGetProperty("currency", out var c) && c.ValueKind == JsonValueKind.String
            ? $" ({(a.GetInt64() / 100m).ToString("N2", CultureInfo.InvariantCulture)} {c.GetString()})"
            : string.Empty;
        string StageName(string property) =>
            root.TryGetProperty(property, out var id) && id.ValueKind == JsonValueKind.String
            && stages.TryGetValue(id.GetGuid(), out var stage) ? stage : "another stage";
        return domainEvent.Type switch
        {
            DomainEventTypes.DealWon => $"Deal won: {name}{amount}",
            DomainEventTypes.DealLost => $"Deal lost: {name}{amount}"
                + (root.TryGetProperty("lostReason", out var r) && r.ValueKind == JsonValueKind.String
                    ? $" — {r.GetString()}"
                    : string.Empty),
            DomainEventTypes.DealStageChanged => $"Deal moved: {name} from {StageName("previousStageId")} to {StageName("stageId")}",
            DomainEventTypes.TaskOverdue => $"Task overdue: {(root.TryGetProperty("title", out var t) ? t.GetString() : "a task")}"
                + (root.TryGetProperty("dueAt", out var due) && due.ValueKind == JsonValueKind.String
                    ? $" (due {due.GetDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC)"
                    : string.Empty),
            DomainEventTypes.MeetingSummarized => MeetingText(root),
            _ => $"{domainEvent.Type}: {name}",
        };
    }
}
