using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;

namespace CleanCrm.Application.Billing.Commands.ChangeOrganizationPlan;

public sealed record ChangePlanFields
{
    public string? Plan { get; init; }
}

/// <summary>Sets an organization's plan by hand (sales deals, support); features and limits follow at once.</summary>
[RequiresPlatformAdmin]
public sealed record ChangeOrganizationPlan(Guid OrganizationId, ChangePlanFields Fields)
    : IOrganizationBillingChange, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => null;
}

public sealed class ChangeOrganizationPlanValidator : AbstractValidator<ChangeOrganizationPlan>
{
    public ChangeOrganizationPlanValidator() =>
        RuleFor(x => x.Fields.Plan).NotEmpty().WithMessage("is required.")
            .Must(plan => plan is Plan.Free or Plan.Pro or Plan.Enterprise)
            .WithMessage($"must be one of {Plan.Free}, {Plan.Pro}, {Plan.Enterprise}.")
            .OverridePropertyName("plan");
}

public sealed class ChangeOrganizationPlanHandler(ICatalogDbContext db, IBillingProfiles profiles, TimeProvider clock)
    : OrganizationBillingChangeHandler<ChangeOrganizationPlan>(db, profiles, clock)
{
    protected override Task ChangeAsync(
        Organization organization, ChangeOrganizationPlan command, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (organization.PlanKey != command.Fields.Plan)
        {
            organization.PlanKey = command.Fields.Plan!;
            organization.UpdatedAt = now;
        }

        return Task.CompletedTask;
    }
}
