using CleanCrm.Domain.Catalog;
using FluentValidation;

namespace CleanCrm.Application.Organizations;

/// <summary>Validation shared by signup and "create another organization", so both refuse the same input the same way.</summary>
public static class OrganizationRules
{
    public static readonly string[] Plans = [Plan.Free, Plan.Pro, Plan.Enterprise];

    /// <summary>The longest reason an admin may give for suspending, resuming or deleting an organization.</summary>
    public const int MaxReasonLength = 500;

    public static IRuleBuilderOptions<T, string?> ValidOrganizationName<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().WithMessage("is required.").MaximumLength(200).WithMessage("must be at most 200 characters.");

    public static IRuleBuilderOptions<T, string?> ValidSlug<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().WithMessage("is required.")
            .Must(Slug.HasValidShape)
            .WithMessage(
                "must match ^[a-z][a-z0-9-]{2,39}$ (lower-case letters, digits and dashes, 3-40 characters, starting with a letter).")
            .Must(slug => slug is null || !Slug.IsReserved(slug)).WithMessage("'{PropertyValue}' is reserved; choose another slug.");

    public static IRuleBuilderOptions<T, string?> ValidPlan<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().WithMessage("is required.")
            .Must(plan => Plans.Contains(plan)).WithMessage($"must be one of {string.Join(", ", Plans)}.");
}
