using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing.Commands.ChangeOrganizationPlan;

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
            .Must(plan => plan is Plan.Free or Plan.Pro or Plan.Enterprise)
            .WithMessage($"must be one of {Plan.Free}, {Plan.Pro}, {Plan.Enterprise}.")
            .OverridePropertyName("plan");
}

public sealed class ChangeOrganizationPlanHandler(ICatalogDbContext db, IBillingProfiles profiles, TimeProvider clock)
    : ICommandHandler<ChangeOrganizationPlan, Result<OrganizationBillingDto>>
{
    public async ValueTask<Result<OrganizationBillingDto>> Handle(ChangeOrganizationPlan command, CancellationToken cancellationToken)
    {
        var organization = await db.Organizations
            .FirstOrDefaultAsync(o => o.Id == command.OrganizationId && o.Status != OrganizationStatus.Deleted, cancellationToken);
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

        return await OrganizationBilling.DescribeAsync(profiles, organization.Id, clock, cancellationToken);
    }
}
