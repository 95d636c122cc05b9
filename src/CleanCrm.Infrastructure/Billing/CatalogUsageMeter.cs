using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace CleanCrm.Infrastructure.Billing;

/// <summary>
/// Meters usage in the catalog: the period's rollup row is locked, the idempotency key checked, the allowance checked,
/// then the event is inserted and the rollup incremented, all in one transaction, so concurrent calls never overshoot.
/// </summary>
public sealed class CatalogUsageMeter(IDbContextFactory<CatalogDbContext> catalog, IBillingProfiles profiles,
    TimeProvider clock) : IUsageMeter
{
    public async Task<Result<UsageReceipt>> TryConsumeAsync(Guid organizationId, string metric, long quantity, string idempotencyKey,
        CancellationToken cancellationToken = default)
    {
        if (!UsageMetrics.All.Contains(metric))
        {
            return Error.Validation("metric", $"must be one of {string.Join(", ", UsageMetrics.All)}.");
        }

        if (quantity <= 0)
        {
            return Error.Validation("quantity", "must be greater than 0.");
        }

        if (string.IsNullOrWhiteSpace(idempotencyKey) || idempotencyKey.Length > 200)
        {
            return Error.Validation("idempotencyKey", "is required and at most 200 characters.");
        }

        if (await profiles.GetAsync(organizationId, cancellationToken) is not { } profile)
        {
            return Error.NotFound("Organization", organizationId);
        }

        var limit = profile.Limits.AiTokensPerMonth;
        var now = clock.GetUtcNow();
        var (start, end) = UsageRollup.PeriodOf(now);
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var npgsqlTransaction = (NpgsqlTransaction)transaction.GetDbTransaction();

        await using (var upsert = new NpgsqlCommand(
            """
            INSERT INTO usage_rollups (id, organization_id, metric, period_start, period_end, quantity)
            VALUES (@id, @org, @metric, @start, @end, 0)
            ON CONFLICT (organization_id, metric, period_start) DO NOTHING
            """, connection, npgsqlTransaction))
        {
            upsert.Parameters.AddWithValue("id", Guid.CreateVersion7());
            upsert.Parameters.AddWithValue("org", organizationId);
            upsert.Parameters.AddWithValue("metric", metric);
            upsert.Parameters.AddWithValue("start", start);
            upsert.Parameters.AddWithValue("end", end);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

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
}
