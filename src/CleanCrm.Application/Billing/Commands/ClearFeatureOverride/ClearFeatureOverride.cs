using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing.Commands.ClearFeatureOverride;

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
        if (!await OrganizationBilling.ExistsAsync(db, command.OrganizationId, cancellationToken))
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        var row = await db.FeatureOverrides
            .FirstOrDefaultAsync(f => f.OrganizationId == command.OrganizationId && f.FeatureKey == command.FeatureKey, cancellationToken);
        if (row is not null)
        {
            db.FeatureOverrides.Remove(row);
            await db.SaveChangesAsync(cancellationToken);
        }

        return await OrganizationBilling.DescribeAsync(profiles, command.OrganizationId, clock, cancellationToken);
    }
}
