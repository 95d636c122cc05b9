using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing.Commands.SetFeatureOverride;

public sealed record FeatureOverrideFields
{
    public bool? Enabled { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>Turns a premium feature on or off for one organization, optionally until <c>expiresAt</c>.</summary>
[RequiresPlatformAdmin]
public sealed record SetFeatureOverride(Guid OrganizationId, string FeatureKey, FeatureOverrideFields Fields)
    : IOrganizationBillingChange, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => null;
}

public sealed class SetFeatureOverrideValidator : AbstractValidator<SetFeatureOverride>
{
    public SetFeatureOverrideValidator(TimeProvider clock)
    {
        RuleFor(x => x.FeatureKey).Must(key => PremiumFeatures.All.Contains(key))
            .WithMessage($"must be one of {string.Join(", ", PremiumFeatures.All)}.").OverridePropertyName("key");
        RuleFor(x => x.Fields.Enabled).NotNull().WithMessage("is required (true or false).").OverridePropertyName("enabled");
        RuleFor(x => x.Fields.ExpiresAt).Must(at => at is null || at > clock.GetUtcNow()).WithMessage("must be in the future.")
            .OverridePropertyName("expiresAt");
    }
}

public sealed class SetFeatureOverrideHandler(ICatalogDbContext db, IBillingProfiles profiles, TimeProvider clock)
    : OrganizationBillingChangeHandler<SetFeatureOverride>(db, profiles, clock)
{
    protected override async Task ChangeAsync(
        Organization organization, SetFeatureOverride command, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var row = await Db.FeatureOverrides
            .FirstOrDefaultAsync(f => f.OrganizationId == organization.Id && f.FeatureKey == command.FeatureKey, cancellationToken);
        if (row is null)
        {
            row = new FeatureOverride { OrganizationId = organization.Id, FeatureKey = command.FeatureKey };
            Db.FeatureOverrides.Add(row);
        }

        row.Enabled = command.Fields.Enabled!.Value;
        row.ExpiresAt = command.Fields.ExpiresAt?.ToUniversalTime();
        row.UpdatedAt = now;
    }
}
