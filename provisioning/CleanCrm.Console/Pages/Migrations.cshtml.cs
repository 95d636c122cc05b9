using CleanCrm.Application.Fleet;
using CleanCrm.Application.Fleet.Commands.StartFleetMigration;
using CleanCrm.Application.Fleet.Queries.GetFleetMigration;
using CleanCrm.Application.Fleet.Queries.GetFleetOverview;
using CleanCrm.Application.Fleet.Queries.ListFleetMigrations;
using CleanCrm.Application.Organizations;
using CleanCrm.Application.Organizations.Commands.MigrateOrganization;
using CleanCrm.Application.Organizations.Queries.ListAdminOrganizations;
using CleanCrm.Console.Presentation;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Console.Pages;

public sealed class MigrationsModel(ISender sender) : ConsolePageModel(sender)
{
    /// <summary>The job to follow (after "Start fleet migration" or from the recent list); default the newest.</summary>
    [BindProperty(SupportsGet = true)]
    public string? Job { get; set; }

    public FleetMigrationView? Current { get; private set; }

    public IReadOnlyList<FleetMigrationStatusDto> Recent { get; private set; } = [];

    public IReadOnlyList<AdminOrganizationListItem> Behind { get; private set; } = [];

    public string? SchemaHead { get; private set; }

    public async Task OnGetAsync()
    {
        Recent = (await SendAsync(new ListFleetMigrations(10)))?.Items ?? [];
        var job = string.IsNullOrWhiteSpace(Job) ? Recent.FirstOrDefault() : await SendAsync(new GetFleetMigration(Job));
        Current = job is null ? null : FleetMigrationView.From(job);
        Behind = (await SendAsync(new ListAdminOrganizations(null, null, null, null, true, null, null, "name", null, 50)))?.Items ?? [];
        SchemaHead = (await SendAsync(new GetFleetOverview()))?.SchemaHead;
    }

    public async Task<IActionResult> OnGetLiveJobAsync()
    {
        var job = string.IsNullOrWhiteSpace(Job) ? null : await SendAsync(new GetFleetMigration(Job));
        return job is null ? NotFound() : Partial("_MigrationJob", FleetMigrationView.From(job));
    }

    public async Task<IActionResult> OnPostStartAsync(bool safetyBackup) =>
        await ActAsync(new StartFleetMigration(new StartFleetMigrationFields { SafetyBackup = safetyBackup }),
            job => $"Fleet migration job {job.JobId} queued.", RedisplayAsync, job => RedirectToPage(new { job = job.JobId }));

    public async Task<IActionResult> OnPostRerunAsync(Guid organizationId) =>
        await ActAsync(new MigrateOrganization(organizationId), job => $"Migration of the organization queued (job {job.JobId}).",
            RedisplayAsync, job => RedirectToPage(new { job = job.JobId }));

    private async Task<IActionResult> RedisplayAsync()
    {
        await OnGetAsync();
        return Page();
    }
}
