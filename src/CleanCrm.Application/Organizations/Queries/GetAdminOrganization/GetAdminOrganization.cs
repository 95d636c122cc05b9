using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Fleet;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Organizations.Queries.GetAdminOrganization;

/// <summary>One organization with everything the console's detail page shows (<c>GET /api/v1/admin/organizations/{id}</c>).</summary>
[RequiresPlatformAdmin]
public sealed record GetAdminOrganization(Guid OrganizationId) : IQuery<Result<AdminOrganizationDetail>>;

public sealed class GetAdminOrganizationHandler(
    ICatalogDbContext db,
    IFleetMigrations fleet,
    IBillingProfiles profiles,
    IEntitlements entitlements,
    IOrganizationDeletionScheduler deletion,
    TimeProvider clock) : IQueryHandler<GetAdminOrganization, Result<AdminOrganizationDetail>>
{
    public async ValueTask<Result<AdminOrganizationDetail>> Handle(GetAdminOrganization query, CancellationToken cancellationToken)
    {
        var head = fleet.SchemaHead;
        var id = query.OrganizationId;
        var organization = await db.Organizations.AsNoTracking().FirstOrDefaultAsync(o => o.Id == id, cancellationToken);
        if (organization is null)
        {
            return Error.NotFound("Organization", id);
        }

        var row = await AdminOrganizationRow.Project(db, db.Organizations.AsNoTracking().Where(o => o.Id == id), head)
            .SingleAsync(cancellationToken);
        var runs = await db.ProvisioningRuns.AsNoTracking().Include(r => r.Steps)
            .Where(r => r.OrganizationId == id)
            .OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id)
            .Take(20)
            .ToListAsync(cancellationToken);
        var members = await db.Memberships.AsNoTracking()
            .Where(m => m.OrganizationId == id)
            .Select(m => new { m.UserId, m.User!.Email, m.User.Name, m.Role })
            .ToListAsync(cancellationToken);
        var lastBackup = await db.Backups.AsNoTracking()
            .Where(b => b.OrganizationId == id)
            .OrderByDescending(b => b.QueuedAt).ThenByDescending(b => b.Id)
            .Select(b => new { b.Id, b.Status, b.QueuedAt, b.SizeBytes })
            .FirstOrDefaultAsync(cancellationToken);
        var profile = await profiles.GetAsync(id, cancellationToken);
        var usage = organization.Status == OrganizationStatus.Deleted ? null : (await entitlements.GetAsync(id, cancellationToken))?.Usage;
        var now = clock.GetUtcNow();

        return new AdminOrganizationDetail(
            row.Id,
            row.Slug,
            row.Name,
            row.PlanKey,
            OrganizationStatusNames.Name(row.Status),
            row.ServerId,
            row.ServerName,
            string.IsNullOrEmpty(row.DatabaseName) ? null : row.DatabaseName,
            row.SchemaVersion,
            head,
            row.SchemaBehind,
            row.DatabaseSizeBytes,
            organization.DatabaseSizeMeasuredAt,
            row.Members,
            row.LastBackupAt,
            row.CreatedAt,
            row.OwnerEmail,
            organization.ActivatedAt,
            organization.SuspendedAt,
            organization.Status == OrganizationStatus.Deleting ? organization.UpdatedAt + deletion.GracePeriod : null,
            [.. runs.Select(Run)],
            [
                .. members.OrderBy(m => m.Role).ThenBy(m => m.Email, StringComparer.Ordinal)
                    .Select(m => new AdminMemberDto(m.UserId, m.Email, m.Name, m.Role.ToString().ToLowerInvariant())),
            ],
            lastBackup is null
                ? null
                : new AdminLastBackupDto(lastBackup.Id, Lower(lastBackup.Status), lastBackup.QueuedAt, lastBackup.SizeBytes),
            usage,
            profile is null ? [] : Features(profile, now),
            profile is null ? [] : Limits(profile));
    }

    private static AdminProvisioningRunDto Run(ProvisioningRun run) => new(
        run.Id,
        Lower(run.Status),
        run.Attempt,
        run.Error,
        run.CreatedAt,
        run.StartedAt,
        run.FinishedAt,
        [
            .. run.Steps.OrderBy(s => s.Position)
                .Select(s => new AdminProvisioningStepDto(s.Name, Lower(s.Status), s.Attempt, s.StartedAt, s.FinishedAt, s.Error)),
        ]);

    private static List<AdminFeatureDto> Features(BillingProfile profile, DateTimeOffset now) =>
    [
        .. PremiumFeatures.All.Select(key =>
        {
            var active = profile.FeatureOverrides.FirstOrDefault(o =>
                string.Equals(o.FeatureKey, key, StringComparison.Ordinal) && (o.ExpiresAt is null || o.ExpiresAt > now));
            return new AdminFeatureDto(
                key,
                profile.PlanFeatures.TryGetValue(key, out var inPlan) && inPlan,
                active?.Enabled,
                profile.IsFeatureEnabled(key, now),
                active?.ExpiresAt);
        }),
    ];

    private static List<AdminLimitDto> Limits(BillingProfile profile)
    {
        var plan = profile.PlanLimits;
        var effective = profile.Limits;
        var overrides = profile.LimitOverride;
        return
        [
            new("seats", plan.Seats, overrides?.Seats, effective.Seats),
            new("aiTokensPerMonth", plan.AiTokensPerMonth, overrides?.AiTokensPerMonth, effective.AiTokensPerMonth),
            new("apiRequestsPer10Seconds", plan.ApiRequestsPer10Seconds, overrides?.ApiRequestsPer10Seconds,
                effective.ApiRequestsPer10Seconds),
            new("backupRetentionDays", plan.BackupRetentionDays, overrides?.BackupRetentionDays, effective.BackupRetentionDays),
        ];
    }

    private static string Lower<TEnum>(TEnum value)
        where TEnum : struct, Enum => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());
}
