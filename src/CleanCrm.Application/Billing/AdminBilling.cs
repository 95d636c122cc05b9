using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing;

/// <summary>An organization's plan, overrides and effective features/limits, as platform admins see them.</summary>
public sealed record OrganizationBillingDto(
    Guid Id,
    string Plan,
    EntitlementLimits Limits,
    IReadOnlyDictionary<string, bool> Features,
    IReadOnlyList<FeatureOverrideInfo> FeatureOverrides);

internal static class AdminBilling
{
    public static async Task<Result<OrganizationBillingDto>> DescribeAsync(IBillingProfiles profiles, Guid organizationId, TimeProvider clock, CancellationToken cancellationToken)
    {
        // This process reads its own write at once; other instances drop their copy on the catalog's NOTIFY.
        profiles.Invalidate(organizationId);
        var profile = await profiles.GetAsync(organizationId, cancellationToken);
        return profile is null
            ? Error.NotFound("Organization", organizationId)
            : new OrganizationBillingDto(organizationId, profile.PlanKey, profile.Limits, profile.AllFeatures(clock.GetUtcNow()), profile.FeatureOverrides);
    }

    public static Task<bool> ExistsAsync(ICatalogDbContext db, Guid organizationId, CancellationToken cancellationToken) =>
        db.Organizations.AnyAsync(o => o.Id == organizationId && o.Status != OrganizationStatus.Deleted, cancellationToken);
}

public sealed record ChangePlanFields
{
    public string? Plan { get; init; }
}

/// <summary>Sets an organization's plan by hand (sales deals, support); features and limits follow at once.</summary>
[RequiresPlatformAdmin]
public sealed record ChangeOrganizationPlan(Guid OrganizationId, ChangePlanFields Fields) : ICommand<Result<OrganizationBillingDto>>;

public sealed class ChangeOrganizationPlanValidator : AbstractValidator<ChangeOrganizationPlan>
{
    public ChangeOrganizationPlanValidator() =>
        RuleFor(x => x.Fields.Plan).NotEmpty().WithMessage("is required.")
            .Must(plan => plan is Plan.Free or Plan.Pro or Plan.Enterprise).WithMessage($"must be one of {Plan.Free}, {Plan.Pro}, {Plan.Enterprise}.")
            .OverridePropertyName("plan");
}

public sealed class ChangeOrganizationPlanHandler(ICatalogDbContext db, IBillingProfiles profiles, TimeProvider clock)
    : ICommandHandler<ChangeOrganizationPlan, Result<OrganizationBillingDto>>
{
    public async ValueTask<Result<OrganizationBillingDto>> Handle(ChangeOrganizationPlan command, CancellationToken cancellationToken)
    {
        var organization = await db.Organizations.FirstOrDefaultAsync(o => o.Id == command.OrganizationId && o.Status != OrganizationStatus.Deleted, cancellationToken);
        if (organization is null)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        if (organization.PlanKey != command.Fields.Plan)
        {
            organization.PlanKey = command.Fields.Plan!;
            organization.UpdatedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(cancellationToken);
        }

        return await AdminBilling.DescribeAsync(profiles, organization.Id, clock, cancellationToken);
    }
}

public sealed record FeatureOverrideFields
{
    public bool? Enabled { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>Turns a premium feature on or off for one organization, optionally until <c>expiresAt</c>.</summary>
[RequiresPlatformAdmin]
public sealed record SetFeatureOverride(Guid OrganizationId, string FeatureKey, FeatureOverrideFields Fields) : ICommand<Result<OrganizationBillingDto>>;

public sealed class SetFeatureOverrideValidator : AbstractValidator<SetFeatureOverride>
{
    public SetFeatureOverrideValidator(TimeProvider clock)
    {
        RuleFor(x => x.FeatureKey).Must(key => PremiumFeatures.All.Contains(key))
            .WithMessage($"must be one of {string.Join(", ", PremiumFeatures.All)}.").OverridePropertyName("key");
        RuleFor(x => x.Fields.Enabled).NotNull().WithMessage("is required (true or false).").OverridePropertyName("enabled");
        RuleFor(x => x.Fields.ExpiresAt).Must(at => at is null || at > clock.GetUtcNow()).WithMessage("must be in the future.").OverridePropertyName("expiresAt");
    }
}

public sealed class SetFeatureOverrideHandler(ICatalogDbContext db, IBillingProfiles profiles, TimeProvider clock)
    : ICommandHandler<SetFeatureOverride, Result<OrganizationBillingDto>>
{
    public async ValueTask<Result<OrganizationBillingDto>> Handle(SetFeatureOverride command, CancellationToken cancellationToken)
    {
        if (!await AdminBilling.ExistsAsync(db, command.OrganizationId, cancellationToken))
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        var row = await db.FeatureOverrides.FirstOrDefaultAsync(f => f.OrganizationId == command.OrganizationId && f.FeatureKey == command.FeatureKey, cancellationToken);
        if (row is null)
        {
            row = new FeatureOverride { OrganizationId = command.OrganizationId, FeatureKey = command.FeatureKey };
            db.FeatureOverrides.Add(row);
        }

        row.Enabled = command.Fields.Enabled!.Value;
        row.ExpiresAt = command.Fields.ExpiresAt?.ToUniversalTime();
        row.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return await AdminBilling.DescribeAsync(profiles, command.OrganizationId, clock, cancellationToken);
    }
}

/// <summary>Removes the override: the feature follows the plan again.</summary>
[RequiresPlatformAdmin]
public sealed record ClearFeatureOverride(Guid OrganizationId, string FeatureKey) : ICommand<Result<OrganizationBillingDto>>;

public sealed class ClearFeatureOverrideValidator : AbstractValidator<ClearFeatureOverride>
{
    public ClearFeatureOverrideValidator() =>
        RuleFor(x => x.FeatureKey).Must(key => PremiumFeatures.All.Contains(key))
            .WithMessage($"must be one of {string.Join(", ", PremiumFeatures.All)}.").OverridePropertyName("key");
}

public sealed class ClearFeatureOverrideHandler(ICatalogDbContext db, IBillingProfiles profiles, TimeProvider clock)
    : ICommandHandler<ClearFeatureOverride, Result<OrganizationBillingDto>>
{
    public async ValueTask<Result<OrganizationBillingDto>> Handle(ClearFeatureOverride command, CancellationToken cancellationToken)
    {
        if (!await AdminBilling.ExistsAsync(db, command.OrganizationId, cancellationToken))
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        var row = await db.FeatureOverrides.FirstOrDefaultAsync(f => f.OrganizationId == command.OrganizationId && f.FeatureKey == command.FeatureKey, cancellationToken);
        if (row is not null)
        {
            db.FeatureOverrides.Remove(row);
            await db.SaveChangesAsync(cancellationToken);
        }

        return await AdminBilling.DescribeAsync(profiles, command.OrganizationId, clock, cancellationToken);
    }
}

/// <summary>Per-org limits replacing the plan's; a missing or null field keeps the plan's value.</summary>
public sealed record LimitOverrideFields
{
    public int? Seats { get; init; }

    public long? AiTokensPerMonth { get; init; }

    public int? ApiRequestsPer10Seconds { get; init; }

    public int? BackupRetentionDays { get; init; }
}

[RequiresPlatformAdmin]
public sealed record SetLimitOverrides(Guid OrganizationId, LimitOverrideFields Fields) : ICommand<Result<OrganizationBillingDto>>;

public sealed class SetLimitOverridesValidator : AbstractValidator<SetLimitOverrides>
{
    public SetLimitOverridesValidator()
    {
        RuleFor(x => x.Fields.Seats).GreaterThanOrEqualTo(0).WithMessage("must be 0 or more.").OverridePropertyName("seats");
        RuleFor(x => x.Fields.AiTokensPerMonth).GreaterThanOrEqualTo(0).WithMessage("must be 0 or more.").OverridePropertyName("aiTokensPerMonth");
        RuleFor(x => x.Fields.ApiRequestsPer10Seconds).InclusiveBetween(1, 100_000).WithMessage("must be between 1 and 100000.").OverridePropertyName("apiRequestsPer10Seconds");
        RuleFor(x => x.Fields.BackupRetentionDays).InclusiveBetween(1, 3650).WithMessage("must be between 1 and 3650.").OverridePropertyName("backupRetentionDays");
    }
}

public sealed class SetLimitOverridesHandler(ICatalogDbContext db, IBillingProfiles profiles, TimeProvider clock)
    : ICommandHandler<SetLimitOverrides, Result<OrganizationBillingDto>>
{
    public async ValueTask<Result<OrganizationBillingDto>> Handle(SetLimitOverrides command, CancellationToken cancellationToken)
    {
        if (!await AdminBilling.ExistsAsync(db, command.OrganizationId, cancellationToken))
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        var fields = command.Fields;
        var row = await db.LimitOverrides.FirstOrDefaultAsync(l => l.OrganizationId == command.OrganizationId, cancellationToken);
        if (fields is { Seats: null, AiTokensPerMonth: null, ApiRequestsPer10Seconds: null, BackupRetentionDays: null })
        {
            if (row is not null)
            {
                db.LimitOverrides.Remove(row);
            }
        }
        else
        {
            if (row is null)
            {
                row = new LimitOverride { OrganizationId = command.OrganizationId };
                db.LimitOverrides.Add(row);
            }

            row.Seats = fields.Seats;
            row.AiTokensPerMonth = fields.AiTokensPerMonth;
            row.ApiRequestsPer10Seconds = fields.ApiRequestsPer10Seconds;
            row.BackupRetentionDays = fields.BackupRetentionDays;
            row.UpdatedAt = clock.GetUtcNow();
        }

        await db.SaveChangesAsync(cancellationToken);
        return await AdminBilling.DescribeAsync(profiles, command.OrganizationId, clock, cancellationToken);
    }
}
