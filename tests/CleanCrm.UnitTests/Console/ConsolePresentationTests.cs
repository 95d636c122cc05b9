using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Fleet;
using CleanCrm.Console.Presentation;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.UnitTests.Console;

/// <summary>
/// The console's view logic (docs/CONSOLE.md): error sentences, the organizations filter's query string, metrics, progress.
/// </summary>
public sealed class ConsolePresentationTests
{
    [Fact]
    public void A_plain_error_shows_its_detail()
    {
        var error = Error.Conflict(ErrorCodes.Conflict, "Organization 'acme' is suspended; it cannot be moved.");

        ErrorMessages.Describe(error).ShouldBe("Organization 'acme' is suspended; it cannot be moved.");
    }

    [Fact]
    public void Validation_errors_name_each_field_once_and_never_show_json()
    {
        var single = Error.Validation(new Dictionary<string, string[]> { ["reason"] = ["must be at most 500 characters."] },
            "reason: must be at most 500 characters.");
        ErrorMessages.Describe(single).ShouldBe("reason must be at most 500 characters.");

        var several = Error.Validation(new Dictionary<string, string[]>
        {
            ["seats"] = ["must be 0 or more."],
            ["backupRetentionDays"] = ["must be between 1 and 3650."],
        }, "2 fields are invalid; first seats: must be 0 or more.");
        var text = ErrorMessages.Describe(several);
        text.ShouldBe("seats must be 0 or more. backupRetentionDays must be between 1 and 3650.");
        text.ShouldNotContain("{");
        text.ShouldNotContain("2 fields are invalid");

        var sentence = Error.Validation("databaseServerId", "databaseServerId 'x' does not name a database server.");
        ErrorMessages.Describe(sentence).ShouldBe("databaseServerId 'x' does not name a database server.");
    }

    [Fact]
    public void An_error_without_detail_gets_a_sentence_for_its_kind()
    {
        ErrorMessages.Describe(new Error(ErrorType.NotFound, ErrorCodes.NotFound, " ")).ShouldBe("It was not found.");
        ErrorMessages.Describe(new Error(ErrorType.Forbidden, ErrorCodes.Forbidden, "")).ShouldBe("You are not allowed to do this.");
    }

    [Fact]
    public void The_organization_filter_round_trips_through_the_query_string_and_makes_the_request()
    {
        var serverId = Guid.NewGuid();
        var filter = new OrganizationFilter
        {
            Q = "  acme ",
            Status = "active",
            Plan = "pro",
            ServerId = serverId,
            SchemaBehind = true,
            BackupStale = true,
            Sort = "-databaseSize",
        };

        var query = filter.ToQueryString();
        query.ShouldBe($"?q=acme&status=active&plan=pro&serverId={serverId}&schemaBehind=true&backupStale=true&sort=-databaseSize");
        var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query);
        parsed["q"].ToString().ShouldBe("acme");
        parsed.ContainsKey("failedProvisioning").ShouldBeFalse("unchecked boxes leave the link");
        parsed.ContainsKey("cursor").ShouldBeFalse();

        var request = filter.ToRequest();
        request.Q.ShouldBe("acme");
        request.Status.ShouldBe("active");
        request.Plan.ShouldBe("pro");
        request.ServerId.ShouldBe(serverId);
        request.SchemaBehind.ShouldBe(true);
        request.FailedProvisioning.ShouldBeNull("an unchecked box filters nothing");
        request.BackupOlderThanHours.ShouldBe(26);
        request.Sort.ShouldBe("-databaseSize");

        filter.ToQueryString(cursor: "abc").ShouldEndWith("&sort=-databaseSize&cursor=abc");
    }

    [Fact]
    public void Column_headers_toggle_the_sort_and_a_new_sort_starts_at_the_first_page()
    {
        var filter = new OrganizationFilter { Cursor = "page-2" };
        filter.EffectiveSort.ShouldBe("-createdAt");
        filter.AriaSort("createdAt").ShouldBe("descending");
        filter.AriaSort("name").ShouldBe("none");
        filter.SortFor("name").ShouldBe("name");
        filter.ToQueryString(sort: "name").ShouldBe("?sort=name");
        filter.ToQueryString(sort: OrganizationFilter.DefaultSort).ShouldBe(string.Empty, "the default sort stays out of the link");

        var byName = new OrganizationFilter { Sort = "name" };
        byName.AriaSort("name").ShouldBe("ascending");
        byName.SortFor("name").ShouldBe("-name");
        new OrganizationFilter().ToRequest().Sort.ShouldBe("-createdAt");
    }

    [Fact]
    public void The_connection_budget_sums_series_from_the_api_metrics()
    {
        const string text = """
            # HELP cleancrm_tenant_connections_in_use Tenant connections checked out right now
            # TYPE cleancrm_tenant_connections_in_use gauge
            cleancrm_tenant_connections_in_use{otel_scope_name="CleanCrm.Tenancy"} 3 1700000000000
            cleancrm_tenant_connections_in_use_total_other 99
            cleancrm_tenant_connections_reserved{otel_scope_name="CleanCrm.Tenancy"} 12
            cleancrm_tenant_data_sources_open 4
            """;

        var budget = ApiMetrics.Parse(text);

        budget.InUse.ShouldBe(3);
        budget.Reserved.ShouldBe(12);
        budget.OpenDataSources.ShouldBe(4);
        budget.Refusals.ShouldBeNull("no refusal counter was exported yet");
        budget.Error.ShouldBeNull();
    }

    [Fact]
    public void Fleet_migration_progress_and_failures_are_read_from_the_job_documents_in_either_casing()
    {
        var running = FleetMigrationView.From(new FleetMigrationStatusDto("7", "processing",
            """{"Phase":"Tenants","Total":10,"Done":4,"Migrated":3,"Skipped":0,"Failed":1,"LastSlug":"b"}""", null));
        running.Total.ShouldBe(10);
        running.Done.ShouldBe(4);
        running.FailedCount.ShouldBe(1);
        running.Finished.ShouldBeFalse();

        var orgId = Guid.NewGuid();
        var finished = FleetMigrationView.From(new FleetMigrationStatusDto("7", "succeeded", null,
            System.Text.Json.JsonSerializer.Serialize(new
            {
                targetVersion = "v2",
                considered = 3,
                upToDate = 1,
                migrated = new[] { new { organizationId = Guid.NewGuid(), slug = "a" } },
                skipped = Array.Empty<object>(),
                failed = new[] { new { organizationId = orgId, slug = "b", reason = "lock timeout" } },
            })));
        finished.Finished.ShouldBeTrue();
        finished.Total.ShouldBe(3);
        finished.Done.ShouldBe(3);
        finished.Migrated.ShouldBe(1);
        finished.UpToDate.ShouldBe(1);
        finished.Failures.ShouldBe([new FleetMigrationFailure(orgId, "b", "lock timeout")]);

        FleetMigrationView.From(new FleetMigrationStatusDto("8", "enqueued", "not json", null)).Total.ShouldBe(0);
    }

    [Fact]
    public void Sizes_times_and_enum_words_are_formatted_like_the_api()
    {
        Formatting.Bytes(null).ShouldBe("–");
        Formatting.Bytes(512).ShouldBe("512 B");
        Formatting.Bytes(5 * 1024 * 1024 + 512 * 1024).ShouldBe("5.5 MB");
        Formatting.Time(new DateTimeOffset(2026, 12, 3, 9, 5, 0, TimeSpan.FromHours(2))).ShouldBe("2026-12-03 07:05 UTC");
        Formatting.Word(RestoreMode.SideBySide).ShouldBe("side_by_side");
        Formatting.Word(BackupStatus.Succeeded).ShouldBe("succeeded");
    }
}
