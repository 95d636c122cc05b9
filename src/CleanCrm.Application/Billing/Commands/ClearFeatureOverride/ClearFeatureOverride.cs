using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing.Commands.ClearFeatureOverride;

/// <summary>Removes the override: the feature follows the plan again.</summary>
[RequiresPlatformAdmin]
public sealed record ClearFeatureOverride(Guid OrganizationId, string FeatureKey) : IOrganizationBillingChange, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => null;
}

public sealed class ClearFeatureOverrideValidator : AbstractValidator<ClearFeatureOverride>
{
    public ClearFeatureOverrideValidator() =>
        RuleFor(x => x.FeatureKey).Must(key => PremiumFeatures.All.Contains(key))
            .WithMessage($"must be one of {string.Join(", ", PremiumFeatures.All)}.").OverridePropertyName("key");
}

public sealed class ClearFeatureOverrideHandler(ICatalogDbContext db, IBillingProfiles profiles, TimeProvider clock)
    : OrganizationBillingChangeHandler<ClearFeatureOverride>(db, profiles, clock)
{
    protected override async Task ChangeAsync(
        Organization organization, ClearFeatureOverride command, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var row = await Db.FeatureOverrides
            .FirstOrDefaultAsync(f => f.OrganizationId == organization.Id && f.FeatureKey == command.FeatureKey, cancellationToken);
        if (row is not null)
        {
            Db.FeatureOverrides.Remove(row);
        }
    }
}
