using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using CleanCrm.Domain.Common;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CleanCrm.Infrastructure.Persistence.Tenant;

/// <summary>
/// Appends one audit row per changed tenant record to the same SaveChanges, so the log commits or rolls back with the
/// write it describes. Handlers cannot forget it: every write to a <see cref="TenantEntity"/> goes through here.
/// </summary>
public sealed class AuditLogInterceptor(TimeProvider clock) : SaveChangesInterceptor
{
    private static readonly HashSet<string> Unaudited = new(StringComparer.Ordinal)
    {
        nameof(TenantEntity.Version), nameof(TenantEntity.CreatedAt), nameof(TenantEntity.UpdatedAt), nameof(TenantEntity.CreatedBy),
        nameof(TenantEntity.UpdatedBy), nameof(TenantEntity.DeletedAt), nameof(TenantEntity.Id), TenantDbContext.SearchVector,
        nameof(WebhookEndpoint.ProtectedSecret),
    };

    private static readonly ConcurrentDictionary<Type, string> EntityTypes = new();

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        Append(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Append(eventData.Context);
        return result;
    }

    /// <summary>The name of a record type in the audit log (<c>deal</c>, <c>deal_split</c>, <c>task</c>).</summary>
    public static string EntityTypeOf(Type type) => EntityTypes.GetOrAdd(type, t =>
        JsonNamingPolicy.SnakeCaseLower.ConvertName(t.Name.StartsWith("Crm", StringComparison.Ordinal) ? t.Name[3..] : t.Name));

    private void Append(DbContext? context)
    {
        if (context is not TenantDbContext)
        {
            return;
        }

        context.ChangeTracker.DetectChanges();
        var now = clock.GetUtcNow();
        var correlationId = Activity.Current?.TraceId.ToHexString();
        var entries = new List<AuditEntry>();
        foreach (var entry in context.ChangeTracker.Entries<TenantEntity>())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified or EntityState.Deleted))
            {
                continue;
            }

            var (action, changes) = Describe(entry);
            if (action is null)
            {
                continue;
            }

            entries.Add(new AuditEntry
            {
                OccurredAt = now,
                ActorId = entry.State == EntityState.Added ? entry.Entity.CreatedBy : entry.Entity.UpdatedBy,
                Action = action,
                EntityType = EntityTypeOf(entry.Entity.GetType()),
                EntityId = entry.Entity.Id,
                Changes = changes.ToJsonString(),
                CorrelationId = correlationId,
            });
        }

        if (entries.Count > 0)
        {
            context.Set<AuditEntry>().AddRange(entries);
        }
    }

    private static (string? Action, JsonObject Changes) Describe(EntityEntry<TenantEntity> entry)
    {
        var changes = new JsonObject();
        if (entry.State == EntityState.Added)
        {
            foreach (var property in entry.Properties.Where(p => !Unaudited.Contains(p.Metadata.Name)))
            {
                changes[Name(property)] = Value(property, property.CurrentValue);
            }

            return ("created", changes);
        }

        if (entry.State == EntityState.Deleted)
        {
            return ("deleted", changes);
        }

        var deletedAt = entry.Property(e => e.DeletedAt);
        if (deletedAt.OriginalValue is null && deletedAt.CurrentValue is not null)
        {
            return ("deleted", changes);
        }

        if (deletedAt.OriginalValue is not null && deletedAt.CurrentValue is null)
        {
            changes["deletedAt"] = new JsonObject { ["from"] = Value(deletedAt, deletedAt.OriginalValue), ["to"] = null };
            return ("restored", changes);
        }

        foreach (var property in entry.Properties.Where(p => p.IsModified && !Unaudited.Contains(p.Metadata.Name)))
        {
            if (Equals(property.OriginalValue, property.CurrentValue))
            {
                continue;
            }

            changes[Name(property)] =
                new JsonObject { ["from"] = Value(property, property.OriginalValue), ["to"] = Value(property, property.CurrentValue) };
        }

        return (changes.Count == 0 ? null : "updated", changes);
    }

    private static string Name(PropertyEntry property) => JsonNamingPolicy.CamelCase.ConvertName(property.Metadata.Name);

    private static JsonNode? Value(PropertyEntry property, object? value)
    {
        if (value is null)
        {
            return null;
        }

        // A jsonb column is written as the JSON it holds (an object or array), whether the property is that JSON text or a
        // value a converter turns into it (a workflow's conditions and actions), never as one long string.
        var provider = property.Metadata.GetValueConverter()?.ConvertToProvider(value) ?? value;
        return property.Metadata.GetColumnType() == "jsonb" && provider is string json
            ? JsonNode.Parse(json)
            : JsonSerializer.SerializeToNode(provider);
    }
}
