using CleanCrm.Application.Organizations.Queries.ListAdminOrganizations;
using CleanCrm.Domain.Catalog;
using Microsoft.AspNetCore.Http.Extensions;

namespace CleanCrm.Console.Presentation;

/// <summary>
/// The filters, sort and page of <c>/organizations</c> as they travel in the query string (so a filtered, sorted page is
/// a link that can be shared and reloaded), and the <see cref="ListAdminOrganizations"/> request they make.
/// </summary>
public sealed class OrganizationFilter
{
    /// <summary>"Backup older than 26 h": a day of backups plus slack for a slow nightly run.</summary>
    public const int StaleBackupHours = 26;

    public static readonly IReadOnlyList<string> Statuses =
        [.. Enum.GetValues<OrganizationStatus>().Select(s => s.ToString().ToLowerInvariant())];

    public static readonly IReadOnlyList<string> Plans =
        [Domain.Catalog.Plan.Free, Domain.Catalog.Plan.Pro, Domain.Catalog.Plan.Enterprise];

    /// <summary>The sortable columns, in table order, with their header text.</summary>
    public static readonly IReadOnlyList<(string Field, string Header)> Columns =
    [
        ("name", "Name"), ("slug", "Slug"), ("plan", "Plan"), ("status", "Status"), ("server", "Server"),
        ("schemaVersion", "Schema"), ("databaseSize", "Database size"), ("members", "Members"), ("lastBackupAt", "Last backup"),
        ("createdAt", "Created"),
    ];

    public const string DefaultSort = "-createdAt";

    public string? Q { get; set; }

    public string? Status { get; set; }

    public string? Plan { get; set; }

    public Guid? ServerId { get; set; }

    public bool SchemaBehind { get; set; }

    public bool FailedProvisioning { get; set; }

    public bool BackupStale { get; set; }

    public string? Sort { get; set; }

    public string? Cursor { get; set; }

    public string EffectiveSort => string.IsNullOrWhiteSpace(Sort) ? DefaultSort : Sort;

    public ListAdminOrganizations ToRequest(int limit = 50) => new(
        Empty(Status),
        Empty(Plan),
        ServerId,
        Empty(Q?.Trim()),
        SchemaBehind ? true : null,
        FailedProvisioning ? true : null,
        BackupStale ? StaleBackupHours : null,
        EffectiveSort,
        Empty(Cursor),
        limit);

    /// <summary>The query string of this filter with another sort and/or cursor (a new sort starts at the first page).</summary>
    public string ToQueryString(string? sort = null, string? cursor = null)
    {
        var query = new QueryBuilder();
        Add(query, "q", Q?.Trim());
        Add(query, "status", Status);
        Add(query, "plan", Plan);
        Add(query, "serverId", ServerId?.ToString());
        Add(query, "schemaBehind", SchemaBehind ? "true" : null);
        Add(query, "failedProvisioning", FailedProvisioning ? "true" : null);
        Add(query, "backupStale", BackupStale ? "true" : null);
        var effective = sort ?? Sort;
        Add(query, "sort", effective == DefaultSort ? null : effective);
        Add(query, "cursor", cursor);
        return query.ToQueryString().Value ?? string.Empty;
    }

    /// <summary>The sort a column header links to: ascending first, descending when it is already ascending.</summary>
    public string SortFor(string field) => EffectiveSort == field ? "-" + field : field;

    /// <summary>The <c>aria-sort</c> value of a column header.</summary>
    public string AriaSort(string field) =>
        EffectiveSort == field ? "ascending" : EffectiveSort == "-" + field ? "descending" : "none";

    private static string? Empty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static void Add(QueryBuilder query, string key, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            query.Add(key, value);
        }
    }
}
