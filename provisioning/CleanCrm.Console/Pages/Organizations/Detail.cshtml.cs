using System.Globalization;
using CleanCrm.Application.Backups;
using CleanCrm.Application.Backups.Commands.ConfirmRestore;
using CleanCrm.Application.Backups.Commands.RestoreBackup;
using CleanCrm.Application.Backups.Commands.StartOrganizationBackup;
using CleanCrm.Application.Backups.Commands.VerifyAdminBackup;
using CleanCrm.Application.Backups.Queries.GetRestore;
using CleanCrm.Application.Backups.Queries.ListAdminBackups;
using CleanCrm.Application.Billing.Commands.ChangeOrganizationPlan;
using CleanCrm.Application.Billing.Commands.ClearFeatureOverride;
using CleanCrm.Application.Billing.Commands.SetFeatureOverride;
using CleanCrm.Application.Billing.Commands.SetLimitOverrides;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.DatabaseServers;
using CleanCrm.Application.DatabaseServers.Queries.ListDatabaseServers;
using CleanCrm.Application.Organizations;
using CleanCrm.Application.Organizations.Commands.DeleteOrganization;
using CleanCrm.Application.Organizations.Commands.MigrateOrganization;
using CleanCrm.Application.Organizations.Commands.MoveOrganization;
using CleanCrm.Application.Organizations.Commands.ResumeOrganization;
using CleanCrm.Application.Organizations.Commands.RetryProvisioning;
using CleanCrm.Application.Organizations.Commands.SuspendOrganization;
using CleanCrm.Application.Organizations.Queries.GetAdminOrganization;
using CleanCrm.Application.Support;
using CleanCrm.Application.Support.Commands.StartSupportSession;
using CleanCrm.Application.Support.Queries.ListSupportSessions;
using CleanCrm.Console.Presentation;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Console.Pages.Organizations;

/// <summary>
/// One organization: everything about it and every action on it, each a mediator request. Live parts (status, timeline,
/// move and restore status) are partial handlers the script polls (docs/CONSOLE.md).
/// </summary>
public sealed class DetailModel(ISender sender, IOrganizationDeletionScheduler deletion, IConfiguration configuration)
    : ConsolePageModel(sender)
{
    public static readonly IReadOnlyList<string> LimitKeys =
        ["seats", "aiTokensPerMonth", "apiRequestsPer10Seconds", "backupRetentionDays"];

    [FromRoute]
    public Guid Id { get; set; }

    /// <summary>The restore this page follows (after "Start restore").</summary>
    [BindProperty(SupportsGet = true)]
    public Guid? Restore { get; set; }

    /// <summary>The server a move was started to (after "Move").</summary>
    [BindProperty(SupportsGet = true)]
    public Guid? MoveTo { get; set; }

    /// <summary>The backup whose "Restore" was pressed: the restore form is shown for it.</summary>
    [BindProperty(SupportsGet = true)]
    public Guid? RestoreFrom { get; set; }

    [TempData]
    public string? Verification { get; set; }

    public AdminOrganizationDetail? Organization { get; private set; }

    public IReadOnlyList<DatabaseServerDto> Servers { get; private set; } = [];

    public IReadOnlyList<AdminBackupDto> Backups { get; private set; } = [];

    public RestoreDto? FollowedRestore { get; private set; }

    public IReadOnlyList<SupportSessionDto> SupportSessions { get; private set; } = [];

    public TimeSpan GracePeriod => deletion.GracePeriod;

    public bool FinalBackupBeforeDelete => configuration.GetValue("CleanCrm:Backups:BeforeDelete", true);

    public AdminProvisioningRunDto? LastRun => Organization?.ProvisioningRuns.FirstOrDefault();

    public async Task<IActionResult> OnGetAsync()
    {
        if (!await LoadAsync())
        {
            return NotFound();
        }

        return Page();
    }

    public async Task<IActionResult> OnGetLiveStatusAsync() =>
        await LoadOrganizationAsync() ? Content(Organization!.Status, "text/html; charset=utf-8") : NotFound();

    public async Task<IActionResult> OnGetLiveTimelineAsync() =>
        await LoadOrganizationAsync() ? Partial("_Timeline", this) : NotFound();

    public async Task<IActionResult> OnGetLiveMoveAsync() =>
        await LoadOrganizationAsync() ? Partial("_MoveStatus", this) : NotFound();

    public async Task<IActionResult> OnGetLiveRestoreAsync()
    {
        FollowedRestore = Restore is { } restoreId ? await SendAsync(new GetRestore(restoreId)) : null;
        return FollowedRestore is null ? NotFound() : Partial("_RestoreStatus", this);
    }

    /// <summary>The move-status word: moving, moved, or where the database is.</summary>
    public string MoveStatus
    {
        get
        {
            var o = Organization!;
            if (o.Status == "moving")
            {
                return "moving";
            }

            if (MoveTo is { } target)
            {
                return o.ServerId == target ? "moved" : $"not moved ({o.Status}, on {o.ServerName ?? "no server"})";
            }

            return $"on {o.ServerName ?? "no server"}";
        }
    }

    public async Task<IActionResult> OnPostRetryAsync() =>
        await ActAsync(new RetryProvisioning(Id), o => $"Provisioning of '{o.Slug}' queued again.", RedisplayAsync);

    public async Task<IActionResult> OnPostSuspendAsync(string? reason) =>
        string.IsNullOrWhiteSpace(reason)
            ? await MissingReasonAsync()
            : await ActAsync(new SuspendOrganization(Id, reason.Trim()), o => $"'{o.Slug}' is suspended.", RedisplayAsync);

    public async Task<IActionResult> OnPostResumeAsync(string? reason) =>
        string.IsNullOrWhiteSpace(reason)
            ? await MissingReasonAsync()
            : await ActAsync(new ResumeOrganization(Id, reason.Trim()), o => $"'{o.Slug}' is active again.", RedisplayAsync);

    public async Task<IActionResult> OnPostDeleteAsync(string? confirmSlug, string? reason)
    {
        if (await SendAsync(new GetAdminOrganization(Id)) is not { } organization)
        {
            return await RedisplayAsync();
        }

        if (!string.Equals(confirmSlug?.Trim(), organization.Slug, StringComparison.Ordinal))
        {
            ErrorMessage = $"Type the slug '{organization.Slug}' exactly to confirm the deletion.";
            return await RedisplayAsync();
        }

        return string.IsNullOrWhiteSpace(reason)
            ? await MissingReasonAsync()
            : await ActAsync(new DeleteOrganization(Id, reason.Trim()),
                o => $"'{o.Slug}' is being deleted; its database is dropped after the grace period.", RedisplayAsync);
    }

    public async Task<IActionResult> OnPostMoveAsync(Guid? targetServerId) =>
        await ActAsync(new MoveOrganization(Id, new MoveOrganizationFields { DatabaseServerId = targetServerId }),
            o => $"Moving '{o.Slug}'.", RedisplayAsync, _ => RedirectToPage(new { id = Id, moveTo = targetServerId }));

    public async Task<IActionResult> OnPostMigrateAsync() =>
        await ActAsync(new MigrateOrganization(Id), job => $"Migration job {job.JobId} queued ({job.State}).", RedisplayAsync);

    public async Task<IActionResult> OnPostChangePlanAsync(string? plan) =>
        await ActAsync(new ChangeOrganizationPlan(Id, new ChangePlanFields { Plan = plan }), _ => $"Plan changed to {plan}.",
            RedisplayAsync);

    public async Task<IActionResult> OnPostSaveOverrideAsync(string key, string? value, DateTime? expiresAt)
    {
        bool? enabled = value switch
        {
            "on" => true,
            "off" => false,
            _ => null,
        };
        var expires = expiresAt is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : (DateTimeOffset?)null;
        return await ActAsync(new SetFeatureOverride(Id, key, new FeatureOverrideFields { Enabled = enabled, ExpiresAt = expires }),
            _ => $"Override of {key} saved.", RedisplayAsync);
    }

    public async Task<IActionResult> OnPostClearOverrideAsync(string key) =>
        await ActAsync(new ClearFeatureOverride(Id, key), _ => $"Override of {key} cleared: the plan decides again.", RedisplayAsync);

    public async Task<IActionResult> OnPostSaveLimitsAsync()
    {
        var values = new Dictionary<string, long?>(StringComparer.Ordinal);
        foreach (var key in LimitKeys)
        {
            var text = Request.Form[key].ToString().Trim();
            if (text.Length == 0)
            {
                values[key] = null;
            }
            else if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
            {
                values[key] = number;
            }
            else
            {
                ErrorMessage = $"{key} must be a whole number (or empty to follow the plan).";
                return await RedisplayAsync();
            }
        }

        int? Int(string key) => values[key] is { } v ? (int)Math.Clamp(v, int.MinValue, int.MaxValue) : null;
        var fields = new LimitOverrideFields
        {
            Seats = Int("seats"),
            AiTokensPerMonth = values["aiTokensPerMonth"],
            ApiRequestsPer10Seconds = Int("apiRequestsPer10Seconds"),
            BackupRetentionDays = Int("backupRetentionDays"),
        };
        return await ActAsync(new SetLimitOverrides(Id, fields), _ => "Limit overrides saved.", RedisplayAsync);
    }

    public async Task<IActionResult> OnPostTakeBackupAsync() =>
        await ActAsync(new StartOrganizationBackup(Id), b => $"Backup {b.Id} queued.", RedisplayAsync);

    public async Task<IActionResult> OnPostVerifyAsync(Guid backupId)
    {
        var result = await Sender.Send(new VerifyAdminBackup(backupId), HttpContext.RequestAborted);
        if (!result.IsSuccess)
        {
            ErrorMessage = ErrorMessages.Describe(result.Error!);
            return await RedisplayAsync();
        }

        Verification = $"{backupId}|{(result.Value.Valid ? "valid" : "mismatch")}";
        StatusMessage = result.Value.Valid
            ? $"Backup {backupId} is valid: {result.Value.Detail}"
            : $"Backup {backupId}: {result.Value.Detail}";
        return RedirectToPage(new { id = Id });
    }

    public async Task<IActionResult> OnPostRestoreAsync(Guid backupId, string? mode) =>
        await ActAsync(new RestoreBackup(backupId, new RestoreBackupFields { Mode = mode }), r => $"Restore {r.Id} queued ({mode}).",
            RedisplayAsync, r => RedirectToPage(new { id = Id, restore = r.Id }));

    public async Task<IActionResult> OnPostConfirmRestoreAsync(Guid restoreId) =>
        await ActAsync(new ConfirmRestore(restoreId), r => $"Restore {r.Id} confirmed.", RedisplayAsync,
            r => RedirectToPage(new { id = Id, restore = r.Id }));

    public async Task<IActionResult> OnPostOpenSupportAsync(string? reason, int? minutes) =>
        await ActAsync(new StartSupportSession(Id, reason?.Trim() ?? string.Empty, minutes ?? 0), s => "Support session opened.",
            RedisplayAsync, s => Redirect($"/support/{s.Id}"));

    /// <summary>The verification result of this backup, when it was just verified.</summary>
    public string VerifiedText(Guid backupId) =>
        Verification?.Split('|') is [var id, var outcome] && id == backupId.ToString() ? outcome : "not checked";

    private async Task<IActionResult> MissingReasonAsync()
    {
        // The API keeps the reason optional for automation; people acting in the console always give one.
        ErrorMessage = "Give a reason: it is kept in the platform audit log.";
        return await RedisplayAsync();
    }

    private async Task<IActionResult> RedisplayAsync()
    {
        // A failed action shows the page again with the error message (and the form as it was).
        if (!await LoadAsync())
        {
            return NotFound();
        }

        return Page();
    }

    private async Task<bool> LoadOrganizationAsync()
    {
        var result = await Sender.Send(new GetAdminOrganization(Id), HttpContext.RequestAborted);
        if (result.IsSuccess)
        {
            Organization = result.Value;
            return true;
        }

        if (result.Error!.Type != ErrorType.NotFound)
        {
            ErrorMessage ??= ErrorMessages.Describe(result.Error);
        }

        return false;
    }

    private async Task<bool> LoadAsync()
    {
        if (!await LoadOrganizationAsync())
        {
            return false;
        }

        Servers = (await SendAsync(new ListDatabaseServers()))?.Items ?? [];
        Backups = (await SendAsync(new ListAdminBackups(Id, Limit: 20)))?.Items ?? [];
        SupportSessions = (await SendAsync(new ListSupportSessions(Id, ActiveOnly: true)))?.Items ?? [];
        if (Restore is { } restoreId)
        {
            FollowedRestore = await SendAsync(new GetRestore(restoreId));
        }

        return true;
    }
}
