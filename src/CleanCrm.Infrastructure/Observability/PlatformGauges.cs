using System.Diagnostics.Metrics;
using CleanCrm.Application.Fleet;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Observability;

/// <summary>
/// Meter <c>CleanCrm.Platform</c>: observable gauges read from the catalog and Hangfire's storage. A scrape never runs a
/// query: callbacks answer from a snapshot, and a stale snapshot (older than <c>GaugeRefreshSeconds</c>) starts one
/// background refresh, so a scrape storm costs at most one set of catalog queries per interval and process.
/// </summary>
public sealed partial class PlatformGauges : IDisposable
{
    public const string MeterName = "CleanCrm.Platform";

    private readonly Meter _meter;
    private readonly IServiceProvider _services;
    private readonly ObservabilityOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<PlatformGauges> _logger;
    private readonly Lock _gate = new();
    private PlatformSnapshot? _snapshot;
    private DateTimeOffset _refreshStarted = DateTimeOffset.MinValue;
    private Task _refresh = Task.CompletedTask;

    public PlatformGauges(IMeterFactory meterFactory, IServiceProvider services, IOptions<ObservabilityOptions> options,
        IOptions<Options.TenancyOptions> tenancy, TimeProvider clock, ILogger<PlatformGauges> logger)
    {
        _meter = meterFactory.Create(MeterName);
        _services = services;
        _options = options.Value;
        _clock = clock;
        _logger = logger;
        var budget = tenancy.Value.MaxOpenTenantConnections;
        _meter.CreateObservableGauge("cleancrm.tenant_connections.budget", () => budget,
            description: "Tenant connections this process may hold (CleanCrm:Tenancy:MaxOpenTenantConnections)");
        Gauge("cleancrm.organizations", "Organizations by status", s => s.OrganizationsByStatus
            .Select(p => Measure(p.Value, ("status", p.Key))));
        Gauge("cleancrm.organizations.created_24h", "Organizations created (signups) in the last 24 hours",
            s => [new Measurement<double>(s.SignupsLast24h)]);
        Gauge("cleancrm.provisioning.oldest_pending_age", "Age of the oldest organization still pending or provisioning (0 when none)",
            s => [new Measurement<double>(s.OldestPendingSeconds)], "s");
        Gauge("cleancrm.fleet.tenants_behind", "Active or suspended organizations whose schema is behind the head migration",
            s => [new Measurement<double>(s.TenantsBehind)]);
        Gauge("cleancrm.backups.newest_age_max", "Largest age of an active organization's newest successful backup",
            s => [new Measurement<double>(s.NewestBackupAgeMaxSeconds)], "s");
        Gauge("cleancrm.backups.stale_organizations", "Active organizations whose newest successful backup is older than the threshold",
            s => [new Measurement<double>(s.StaleBackupOrganizations)]);
        Gauge("cleancrm.backups.newest_age", "Newest successful backup age of the stalest organizations only (bounded)",
            s => s.StalestBackups.Select(p => Measure(p.AgeSeconds, ("org_id", p.OrganizationId.ToString()))), "s");
        Gauge("cleancrm.backups.failures_24h", "Backups that failed in the last 24 hours",
            s => [new Measurement<double>(s.BackupFailures24h)]);
        Gauge("cleancrm.backups.restore_failures_24h", "Restores (and verifications) that failed in the last 24 hours",
            s => [new Measurement<double>(s.RestoreFailures24h)]);
        Gauge("cleancrm.mail.outbox", "Outgoing mails by status (pending, failed)", s => s.MailByStatus
            .Select(p => Measure(p.Value, ("status", p.Key))));
        Gauge("cleancrm.billing.subscriptions", "Subscriptions that grant a paid plan, by plan and status", s => s.Subscriptions
            .Select(p => Measure(p.Count, ("plan", p.Plan), ("status", p.Status))));
        Gauge("cleancrm.billing.mrr", "Monthly recurring revenue in minor units (list price x seats of active and past-due subscriptions)",
            s => s.MrrByPlan.Select(p => Measure(p.Value, ("plan", p.Key))));
        Gauge("cleancrm.billing.past_due_organizations", "Organizations whose subscription is past due",
            s => [new Measurement<double>(s.PastDue)]);
        Gauge("cleancrm.billing.ai_tokens_month", "AI tokens used by all organizations in the current billing month",
            s => [new Measurement<double>(s.AiTokensThisMonth)]);
        Gauge("cleancrm.database_servers.tenants", "Organizations placed on each database server (deleted ones excluded)",
            s => s.Servers.Select(p => Measure(p.Tenants, ("server", p.Name))));
        Gauge("cleancrm.database_servers.capacity", "Organizations each database server is meant to hold",
            s => s.Servers.Select(p => Measure(p.Capacity, ("server", p.Name))));
        Gauge("cleancrm.jobs.queue_length", "Hangfire jobs waiting, by queue", s => s.QueueLengths
            .Select(p => Measure(p.Value, ("queue", p.Key))));
        Gauge("cleancrm.jobs", "Hangfire jobs by state (enqueued, processing, scheduled, failed, succeeded)", s => s.JobsByState
            .Select(p => Measure(p.Value, ("state", p.Key))));
        Gauge("cleancrm.jobs.servers", "Hangfire servers with a recent heartbeat", s => [new Measurement<double>(s.JobServers)]);
        Gauge("cleancrm.telemetry.snapshot_age", "Age of the snapshot the catalog gauges were answered from",
            s => [new Measurement<double>((_clock.GetUtcNow() - s.TakenAt).TotalSeconds)], "s");
    }

    /// <summary>The current snapshot (tests and the first scrape); null until the first refresh finished.</summary>
    public PlatformSnapshot? Current => _snapshot;

    /// <summary>Reads a fresh snapshot now (also what a stale scrape starts in the background).</summary>
    public async Task<PlatformSnapshot> RefreshAsync(CancellationToken cancellationToken)
    {
        var snapshot = await PlatformSnapshot.ReadAsync(_services, _options, _clock, cancellationToken);
        _snapshot = snapshot;
        return snapshot;
    }

    public void Dispose() => _meter.Dispose();

    private static Measurement<double> Measure(double value, params (string Key, string Value)[] tags) =>
        new(value, tags.Select(t => new KeyValuePair<string, object?>(t.Key, t.Value)));

    private void Gauge(string name, string description, Func<PlatformSnapshot, IEnumerable<Measurement<double>>> read,
        string? unit = null) =>
        _meter.CreateObservableGauge(name, () => Snapshot() is { } snapshot ? read(snapshot) : [], unit, description);

    private PlatformSnapshot? Snapshot()
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            var stale = _snapshot is null || now - _snapshot.TakenAt >= TimeSpan.FromSeconds(_options.GaugeRefreshSeconds);
            if (stale && _refresh.IsCompleted && now - _refreshStarted >= TimeSpan.FromSeconds(Math.Min(5, _options.GaugeRefreshSeconds)))
            {
                _refreshStarted = now;
                _refresh = Task.Run(RefreshQuietlyAsync);
            }
        }

        return _snapshot;
    }

    private async Task RefreshQuietlyAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await RefreshAsync(timeout.Token);
        }
        catch (Exception exception)
        {
            LogRefreshFailed(_logger, exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh the catalog gauges; the previous values stay")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}

/// <summary>The numbers behind <see cref="PlatformGauges"/>, read in one go.</summary>
public sealed record PlatformSnapshot(
    DateTimeOffset TakenAt,
    IReadOnlyDictionary<string, int> OrganizationsByStatus,
    int SignupsLast24h,
    double OldestPendingSeconds,
    int TenantsBehind,
    double NewestBackupAgeMaxSeconds,
    int StaleBackupOrganizations,
    IReadOnlyList<(Guid OrganizationId, double AgeSeconds)> StalestBackups,
    int BackupFailures24h,
    int RestoreFailures24h,
    IReadOnlyDictionary<string, int> MailByStatus,
    IReadOnlyList<(string Plan, string Status, int Count)> Subscriptions,
    IReadOnlyDictionary<string, long> MrrByPlan,
    int PastDue,
    long AiTokensThisMonth,
    IReadOnlyDictionary<string, long> QueueLengths,
    IReadOnlyDictionary<string, long> JobsByState,
    long JobServers,
    IReadOnlyList<(string Name, int Tenants, int Capacity)> Servers)
{
    internal static async Task<PlatformSnapshot> ReadAsync(IServiceProvider services, ObservabilityOptions options, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var since = now.AddHours(-24);
        var head = services.GetRequiredService<IFleetMigrations>().SchemaHead;
        var factory = services.GetRequiredService<IDbContextFactory<CatalogDbContext>>();
        await using var db = await factory.CreateDbContextAsync(cancellationToken);
        var statuses = await db.Organizations.AsNoTracking().GroupBy(o => o.Status)
            .Select(g => new { g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
        var byStatus = Enum.GetValues<OrganizationStatus>().ToDictionary(
            s => s.ToString().ToLowerInvariant(), s => statuses.FirstOrDefault(c => c.Key == s)?.Count ?? 0, StringComparer.Ordinal);
        var signups = await db.Organizations.CountAsync(o => o.CreatedAt >= since, cancellationToken);
        var oldestPending = await db.Organizations
            .Where(o => o.Status == OrganizationStatus.Pending || o.Status == OrganizationStatus.Provisioning)
            .MinAsync(o => (DateTimeOffset?)o.CreatedAt, cancellationToken);
        var behind = await db.Organizations.CountAsync(
            o => (o.Status == OrganizationStatus.Active || o.Status == OrganizationStatus.Suspended) && o.SchemaVersion != head,
            cancellationToken);

        // An active organization without any successful backup is as stale as its activation is old.
        var newest = await db.Organizations.AsNoTracking().Where(o => o.Status == OrganizationStatus.Active)
            .Select(o => new
            {
                o.Id,
                Since = db.Backups.Where(b => b.OrganizationId == o.Id && b.Status == BackupStatus.Succeeded).Max(b => b.FinishedAt)
                    ?? o.ActivatedAt ?? o.CreatedAt,
            })
            .ToListAsync(cancellationToken);
        var ages = newest.Select(n => (n.Id, Age: Math.Max(0, (now - n.Since).TotalSeconds))).OrderByDescending(n => n.Age).ToList();
        var staleAfter = TimeSpan.FromHours(options.BackupStaleAfterHours).TotalSeconds;
        var backupFailures = await db.Backups.CountAsync(b => b.Status == BackupStatus.Failed && b.FinishedAt >= since, cancellationToken);
        var restoreFailures = await db.BackupRestores.CountAsync(
            r => r.Status == RestoreStatus.Failed && (r.FinishedAt ?? r.RequestedAt) >= since, cancellationToken);

        var mail = await db.OutgoingEmails.Where(m => m.Status != OutgoingEmailStatus.Sent).GroupBy(m => m.Status)
            .Select(g => new { g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
        var mailByStatus = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["pending"] = mail.FirstOrDefault(m => m.Key == OutgoingEmailStatus.Pending)?.Count ?? 0,
            ["failed"] = mail.FirstOrDefault(m => m.Key == OutgoingEmailStatus.Failed)?.Count ?? 0,
        };

        string[] granting = [SubscriptionStatuses.Active, SubscriptionStatuses.Trialing, SubscriptionStatuses.PastDue];
        var subscriptions = await db.Subscriptions.AsNoTracking().Where(s => s.PlanKey != null && granting.Contains(s.Status))
            .GroupBy(s => new { s.PlanKey, s.Status })
            .Select(g => new { g.Key.PlanKey, g.Key.Status, Count = g.Count(), Seats = g.Sum(s => s.Quantity ?? 1) })
            .ToListAsync(cancellationToken);
        var mrr = new Dictionary<string, long>(StringComparer.Ordinal) { [Plan.Pro] = 0, [Plan.Enterprise] = 0 };
        foreach (var paying in subscriptions.Where(s => s.Status != SubscriptionStatuses.Trialing && mrr.ContainsKey(s.PlanKey!)))
        {
            mrr[paying.PlanKey!] += paying.Seats * options.PlanMonthlyPriceMinor.GetValueOrDefault(paying.PlanKey!);
        }

        // Every paid plan x granting status has a series (0 when none), so a panel or rule never sees a gap.
        var grid = (from paid in new[] { Plan.Pro, Plan.Enterprise }
                    from status in granting
                    select (paid, status, subscriptions.FirstOrDefault(s => s.PlanKey == paid && s.Status == status)?.Count ?? 0)).ToList();
        var pastDue = await db.Subscriptions.CountAsync(s => s.Status == SubscriptionStatuses.PastDue, cancellationToken);
        var period = UsageRollup.PeriodOf(now).Start;
        var tokens = await db.UsageRollups.Where(r => r.Metric == UsageMetrics.AiTokens && r.PeriodStart == period)
            .SumAsync(r => (long?)r.Quantity, cancellationToken) ?? 0;

        var databaseServers = await db.DatabaseServers.AsNoTracking()
            .Select(s => new
            {
                s.Name,
                s.Capacity,
                Tenants = db.Organizations.Count(o => o.DatabaseServerId == s.Id && o.Status != OrganizationStatus.Deleted),
            })
            .ToListAsync(cancellationToken);
        var (queues, jobs, servers) = ReadHangfire(services);
        return new PlatformSnapshot(now, byStatus, signups, oldestPending is { } pending ? Math.Max(0, (now - pending).TotalSeconds) : 0,
            behind, ages.Count > 0 ? ages[0].Age : 0, ages.Count(a => a.Age > staleAfter),
            ages.Take(options.BackupAgeTopOrganizations).Select(a => (a.Id, a.Age)).ToList(), backupFailures, restoreFailures,
            mailByStatus, grid, mrr, pastDue, tokens, queues, jobs,
            servers, databaseServers.Select(s => (s.Name, s.Tenants, s.Capacity)).ToList());
    }

    private static (Dictionary<string, long> Queues, Dictionary<string, long> Jobs, long Servers) ReadHangfire(IServiceProvider services)
    {
        var monitoring = (services.GetService<JobStorage>() ?? JobStorage.Current).GetMonitoringApi();
        var statistics = monitoring.GetStatistics();
        var queues = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            [Jobs.HangfireStorage.ProvisioningQueue] = 0,
            [Jobs.HangfireStorage.DefaultQueue] = 0,
            [Jobs.HangfireStorage.MaintenanceQueue] = 0,
        };
        foreach (var queue in monitoring.Queues().Where(q => queues.ContainsKey(q.Name)))
        {
            queues[queue.Name] = queue.Length;
        }

        var jobs = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["enqueued"] = statistics.Enqueued,
            ["processing"] = statistics.Processing,
            ["scheduled"] = statistics.Scheduled,
            ["failed"] = statistics.Failed,
            ["succeeded"] = statistics.Succeeded,
        };
        return (queues, jobs, statistics.Servers);
    }
}
