using System.Text.Json;
using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Tenant.Configurations;

internal sealed class WorkflowConfiguration : IEntityTypeConfiguration<Workflow>
{
    public void Configure(EntityTypeBuilder<Workflow> builder)
    {
        builder.ToTable("workflows");
        builder.ConfigureTenantEntity();
        builder.Property(w => w.Name).HasMaxLength(200);
        builder.Property(w => w.TriggerEvent).HasMaxLength(50);
        builder.Property(w => w.Conditions).HasColumnType("jsonb").HasConversion(JsonColumn.Converter<WorkflowCondition>(),
            JsonColumn.Comparer<WorkflowCondition>());
        builder.Property(w => w.Actions).HasColumnType("jsonb").HasConversion(JsonColumn.Converter<WorkflowAction>(),
            JsonColumn.Comparer<WorkflowAction>());
        // The consumer looks up the enabled workflows of an event type.
        builder.HasIndex(w => w.TriggerEvent).HasFilter("deleted_at IS NULL AND enabled");
    }
}

internal sealed class WorkflowRunConfiguration : IEntityTypeConfiguration<WorkflowRun>
{
    public void Configure(EntityTypeBuilder<WorkflowRun> builder)
    {
        builder.ToTable("workflow_runs");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Id).ValueGeneratedNever();
        builder.Property(r => r.Sequence).UseIdentityAlwaysColumn();
        builder.Property(r => r.EventType).HasMaxLength(50);
        builder.Property(r => r.EntityType).HasMaxLength(50);
        builder.Property(r => r.Status).HasConversion(new LowercaseEnumConverter<WorkflowRunStatus>()).HasMaxLength(20);
        builder.Property(r => r.Error).HasMaxLength(1000);
        builder.Property(r => r.ActionResults).HasColumnType("jsonb").HasConversion(JsonColumn.Converter<WorkflowActionResult>(),
            JsonColumn.Comparer<WorkflowActionResult>());
        builder.HasOne<Workflow>().WithMany().HasForeignKey(r => r.WorkflowId).OnDelete(DeleteBehavior.Cascade);
        // One run per workflow and event: a repeated consumer batch cannot start a workflow twice.
        builder.HasIndex(r => new { r.WorkflowId, r.EventId }).IsUnique();
        builder.HasIndex(r => new { r.WorkflowId, r.Sequence });
        builder.HasIndex(r => new { r.Status, r.NextAttemptAt });
    }
}

internal sealed class TaskOverdueMarkConfiguration : IEntityTypeConfiguration<TaskOverdueMark>
{
    public void Configure(EntityTypeBuilder<TaskOverdueMark> builder)
    {
        builder.ToTable("task_overdue_marks");
        builder.HasKey(m => m.TaskId);
        builder.Property(m => m.TaskId).ValueGeneratedNever();
        builder.HasOne<CrmTask>().WithMany().HasForeignKey(m => m.TaskId).OnDelete(DeleteBehavior.Cascade);
    }
}

/// <summary>A list of value records kept as one jsonb column (camelCase, nulls left out).</summary>
internal static class JsonColumn
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<List<T>, string> Converter<T>() =>
        new(v => JsonSerializer.Serialize(v, Options), s => JsonSerializer.Deserialize<List<T>>(s, Options) ?? new List<T>());

    public static ValueComparer<List<T>> Comparer<T>() =>
        new((a, b) => JsonSerializer.Serialize(a, Options) == JsonSerializer.Serialize(b, Options),
            v => JsonSerializer.Serialize(v, Options).GetHashCode(StringComparison.Ordinal),
            v => JsonSerializer.Deserialize<List<T>>(JsonSerializer.Serialize(v, Options), Options)!);
}
