using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace CleanCrm.Infrastructure.Billing;

/// <summary>
/// Meters usage in the catalog: the period's rollup row is locked, the idempotency key checked, the allowance checked,
/// then the event is inserted and the rollup incremented, all in one transaction, so concurrent calls never overshoot.
/// </summary>
public sealed class CatalogUsageMeter(IDbContextFactory<CatalogDbContext> catalog, IBillingProfiles profiles,
    TimeProvider clock) : IUsageMeter
{
    /// <summary>
    /// How long a reservation may stay unsettled before <see cref="UsageReservationSweepJob"/> presumes its process dead and
    /// releases it: well above the longest model call (CleanCrm:Ai:RequestTimeoutSeconds ≤ 600 s, with the SDK's retries).
    /// </summary>
    public static readonly TimeSpan ReservationLifetime = TimeSpan.FromHours(1);

    public async Task<Result<UsageReceipt>> TryConsumeAsync(Guid organizationId, string metric, long quantity, string idempotencyKey,
        CancellationToken cancellationToken = default)
    {
        var opened = await OpenPeriodAsync(organizationId, metric, quantity, idempotencyKey, cancellationToken);
        if (!opened.IsSuccess)
        {
            return opened.Error!;
        }

        await using var period = opened.Value;
        var (db, transaction, connection, npgsqlTransaction) = (period.Db, period.Transaction, period.Connection, period.NpgsqlTransaction);
        var (profile, now, start, limit) = (period.Profile, period.Now, period.Start, period.Profile.Limits.AiTokensPerMonth);

        Guid rollupId;
        long used;
        await using (var select = new NpgsqlCommand(
            "SELECT id, quantity FROM usage_rollups WHERE organization_id = @org AND metric = @metric AND period_start = @start FOR UPDATE",
            connection, npgsqlTransaction))
        {
            select.Parameters.AddWithValue("org", organizationId);
            select.Parameters.AddWithValue("metric", metric);
            select.Parameters.AddWithValue("start", start);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            rollupId = reader.GetGuid(0);
            used = reader.GetInt64(1);
        }

        var previous = await db.UsageEvents.AsNoTracking()
            .Where(e => e.OrganizationId == organizationId && e.IdempotencyKey == idempotencyKey)
            .Select(e => new { e.Quantity, e.Metric })
            .FirstOrDefaultAsync(cancellationToken);
        if (previous is not null)
        {
            await transaction.CommitAsync(cancellationToken);
            return new UsageReceipt(previous.Metric, previous.Quantity, used, limit, start, Duplicate: true);
        }

        if (limit is { } allowed && used + quantity > allowed)
        {
            await transaction.RollbackAsync(cancellationToken);
            return BillingErrors.LimitReached("ai_tokens", allowed, used, profile.PlanKey);
        }

        db.UsageEvents.Add(new UsageEvent
        {
            OrganizationId = organizationId,
            Metric = metric,
            Quantity = quantity,
            IdempotencyKey = idempotencyKey,
            RollupId = rollupId,
            OccurredAt = now,
        });
        await db.SaveChangesAsync(cancellationToken);
        await db.UsageRollups.Where(r => r.Id == rollupId)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Quantity, r => r.Quantity + quantity), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new UsageReceipt(metric, quantity, used + quantity, limit, start, Duplicate: false);
    }

    public async Task<Result<UsageReservation>> ReserveAsync(Guid organizationId, string metric, long quantity, string idempotencyKey,
        CancellationToken cancellationToken = default)
    {
        var opened = await OpenPeriodAsync(organizationId, metric, quantity, idempotencyKey, cancellationToken);
        if (!opened.IsSuccess)
        {
            return opened.Error!;
        }

        await using var period = opened.Value;
        var (db, transaction, connection, npgsqlTransaction) = (period.Db, period.Transaction, period.Connection, period.NpgsqlTransaction);
        var (profile, now, start, limit) = (period.Profile, period.Now, period.Start, period.Profile.Limits.AiTokensPerMonth);

        // The reservation itself: the row lock of the UPDATE serializes concurrent reservations, and each re-checks the
        // condition against the quantity the previous one committed, so the sum never passes the allowance.
        Guid? rollupId = null;
        long used = 0;
        await using (var reserve = new NpgsqlCommand(
            """
            UPDATE usage_rollups SET quantity = quantity + @quantity
            WHERE organization_id = @org AND metric = @metric AND period_start = @start
              AND (@limit IS NULL OR quantity + @quantity <= @limit)
            RETURNING id, quantity
            """, connection, npgsqlTransaction))
        {
            reserve.Parameters.AddWithValue("quantity", quantity);
            reserve.Parameters.AddWithValue("org", organizationId);
            reserve.Parameters.AddWithValue("metric", metric);
            reserve.Parameters.AddWithValue("start", start);
            reserve.Parameters.Add(new NpgsqlParameter("limit", NpgsqlDbType.Bigint) { Value = (object?)limit ?? DBNull.Value });
            await using var reader = await reserve.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                rollupId = reader.GetGuid(0);
                used = reader.GetInt64(1);
            }
        }

        if (rollupId is null)
        {
            var current = await db.UsageRollups.AsNoTracking()
                .Where(r => r.OrganizationId == organizationId && r.Metric == metric && r.PeriodStart == start)
                .Select(r => r.Quantity).FirstOrDefaultAsync(cancellationToken);
            await transaction.RollbackAsync(cancellationToken);
            return BillingErrors.LimitReached(metric, limit ?? 0, current, profile.PlanKey);
        }

        var usage = new UsageEvent
        {
            OrganizationId = organizationId,
            Metric = metric,
            Quantity = quantity,
            IdempotencyKey = idempotencyKey,
            RollupId = rollupId.Value,
            OccurredAt = now,
            SettleBy = now + ReservationLifetime,
        };
        db.UsageEvents.Add(usage);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new UsageReservation(organizationId, metric, usage.Id, rollupId.Value, quantity, used, limit);
    }

    public async Task SettleAsync(UsageReservation reservation, long actualQuantity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        var actual = Math.Max(0, actualQuantity);
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var recorded = await db.UsageEvents.FromSql($"SELECT * FROM usage_events WHERE id = {reservation.EventId} FOR UPDATE")
            .Select(e => (long?)e.Quantity).FirstOrDefaultAsync(cancellationToken);
        // Gone: settled to 0 before, or released by the sweeper (then the call is not charged).
        if (recorded is not { } current)
        {
            await transaction.CommitAsync(cancellationToken);
            return;
        }

        if (actual == 0)
        {
            await db.UsageEvents.Where(e => e.Id == reservation.EventId).ExecuteDeleteAsync(cancellationToken);
        }
        else
        {
            await db.UsageEvents.Where(e => e.Id == reservation.EventId)
                .ExecuteUpdateAsync(u => u.SetProperty(e => e.Quantity, actual).SetProperty(e => e.SettleBy, (DateTimeOffset?)null),
                    cancellationToken);
        }

        var delta = actual - current;
        if (delta != 0)
        {
            await db.UsageRollups.Where(r => r.Id == reservation.RollupId)
                .ExecuteUpdateAsync(u => u.SetProperty(r => r.Quantity, r => r.Quantity + delta), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Validates a metering call, then opens a catalog transaction on the current period with its rollup row present:
    /// the common opening of <see cref="TryConsumeAsync"/> and <see cref="ReserveAsync"/>.
    /// </summary>
    private async Task<Result<MeteringPeriod>> OpenPeriodAsync(Guid organizationId, string metric, long quantity,
        string idempotencyKey, CancellationToken cancellationToken)
    {
        if (Validate(metric, quantity, idempotencyKey) is { } invalid)
        {
            return invalid;
        }

        if (await profiles.GetAsync(organizationId, cancellationToken) is not { } profile)
        {
            return Error.NotFound("Organization", organizationId);
        }

        var now = clock.GetUtcNow();
        var (start, end) = UsageRollup.PeriodOf(now);
        var db = await catalog.CreateDbContextAsync(cancellationToken);
        try
        {
            var period = new MeteringPeriod(db, await db.Database.BeginTransactionAsync(cancellationToken), profile, now, start);
            await EnsureRollupAsync(period.Connection, period.NpgsqlTransaction, organizationId, metric, start, end, cancellationToken);
            return period;
        }
        catch
        {
            await db.DisposeAsync();
            throw;
        }
    }

    private static Error? Validate(string metric, long quantity, string idempotencyKey)
    {
        if (!UsageMetrics.All.Contains(metric))
        {
            return Error.Validation("metric", $"must be one of {string.Join(", ", UsageMetrics.All)}.");
        }

        if (quantity <= 0)
        {
            return Error.Validation("quantity", "must be greater than 0.");
        }

        return string.IsNullOrWhiteSpace(idempotencyKey) || idempotencyKey.Length > 200
            ? Error.Validation("idempotencyKey", "is required and at most 200 characters.")
            : null;
    }

    private static async Task EnsureRollupAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid organizationId,
        string metric, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken)
    {
        await using var upsert = new NpgsqlCommand(
            """
            INSERT INTO usage_rollups (id, organization_id, metric, period_start, period_end, quantity)
            VALUES (@id, @org, @metric, @start, @end, 0)
            ON CONFLICT (organization_id, metric, period_start) DO NOTHING
            """, connection, transaction);
        upsert.Parameters.AddWithValue("id", Guid.CreateVersion7());
        upsert.Parameters.AddWithValue("org", organizationId);
        upsert.Parameters.AddWithValue("metric", metric);
        upsert.Parameters.AddWithValue("start", start);
        upsert.Parameters.AddWithValue("end", end);
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>An open catalog transaction on one metering period; disposing it rolls back what was not committed.</summary>
    private sealed class MeteringPeriod(CatalogDbContext db, IDbContextTransaction transaction, BillingProfile profile,
        DateTimeOffset now, DateTimeOffset start) : IAsyncDisposable
    {
        public CatalogDbContext Db => db;

        public IDbContextTransaction Transaction => transaction;

        public NpgsqlConnection Connection => (NpgsqlConnection)db.Database.GetDbConnection();

        public NpgsqlTransaction NpgsqlTransaction => (NpgsqlTransaction)transaction.GetDbTransaction();

        public BillingProfile Profile => profile;

        public DateTimeOffset Now => now;

        public DateTimeOffset Start => start;

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await db.DisposeAsync();
        }
    }
}
