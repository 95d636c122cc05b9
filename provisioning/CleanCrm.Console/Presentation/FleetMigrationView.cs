using System.Text.Json;
using CleanCrm.Application.Fleet;

namespace CleanCrm.Console.Presentation;

/// <summary>One failed tenant of a fleet migration report.</summary>
public sealed record FleetMigrationFailure(Guid OrganizationId, string Slug, string? Reason);

/// <summary>
/// What the migrations page shows of a job: progress numbers (for <c>role="progressbar"</c>) and the failures, read from the
/// progress and report documents the job writes (property names matched case-insensitively: the job system may write
/// them PascalCase or camelCase).
/// </summary>
public sealed record FleetMigrationView(
    FleetMigrationStatusDto Job, int Total, int Done, int Migrated, int Skipped, int FailedCount, string? Phase,
    IReadOnlyList<FleetMigrationFailure> Failures)
{
    /// <summary>Tenants already at the target version (from the report; 0 while running).</summary>
    public int UpToDate { get; init; }

    public bool Finished => Job.State is "succeeded" or "failed" or "deleted";

    public static FleetMigrationView From(FleetMigrationStatusDto job)
    {
        int total = 0, done = 0, migrated = 0, skipped = 0, failed = 0, upToDate = 0;
        string? phase = null;
        var failures = new List<FleetMigrationFailure>();
        if (Parse(job.Progress) is { } progress)
        {
            total = Int(progress, "total");
            done = Int(progress, "done");
            migrated = Int(progress, "migrated");
            skipped = Int(progress, "skipped");
            failed = Int(progress, "failed");
            phase = Property(progress, "phase") is { } p ? p.ToString() : null;
        }

        if (Parse(job.Report) is { } report)
        {
            migrated = Count(report, "migrated", migrated);
            skipped = Count(report, "skipped", skipped);
            failed = Count(report, "failed", failed);
            total = Math.Max(total, Int(report, "considered"));
            upToDate = Int(report, "upToDate");
            done = total;
            if (Property(report, "failed") is { ValueKind: JsonValueKind.Array } items)
            {
                foreach (var item in items.EnumerateArray())
                {
                    var id = Property(item, "organizationId") is { ValueKind: JsonValueKind.String } raw && raw.TryGetGuid(out var g)
                        ? g
                        : Guid.Empty;
                    var slug = Property(item, "slug")?.GetString() ?? id.ToString();
                    var reason = Property(item, "reason") is { ValueKind: JsonValueKind.String } r ? r.GetString() : null;
                    failures.Add(new FleetMigrationFailure(id, slug, reason));
                }
            }
        }

        return new FleetMigrationView(job, total, done, migrated, skipped, failed, phase, failures) { UpToDate = upToDate };
    }

    private static JsonElement? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonElement? Property(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }

    private static int Int(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt32(out var number) ? number : 0;

    private static int Count(JsonElement element, string name, int fallback) =>
        Property(element, name) is { ValueKind: JsonValueKind.Array } items ? items.GetArrayLength() : fallback;
}
