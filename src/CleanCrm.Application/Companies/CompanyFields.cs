using System.Text.Json;
using CleanCrm.Application.Common.Validation;
using CleanCrm.Domain.Tenant;
using FluentValidation;

namespace CleanCrm.Application.Companies;

/// <summary>The writable fields of a company: the body of a create, and the document a merge patch is applied to.</summary>
public sealed record CompanyFields
{
    public string? Name { get; init; }

    public string? Domain { get; init; }

    public string? Industry { get; init; }

    public int? EmployeeCount { get; init; }

    public long? AnnualRevenue { get; init; }

    public string? Currency { get; init; }

    public string? Address { get; init; }

    public Guid? OwnerId { get; init; }

    public Dictionary<string, JsonElement>? CustomFields { get; init; }

    public static CompanyFields From(Company company) => new()
    {
        Name = company.Name,
        Domain = company.Domain,
        Industry = company.Industry,
        EmployeeCount = company.EmployeeCount,
        AnnualRevenue = company.AnnualRevenue,
        Currency = company.Currency,
        Address = company.Address,
        OwnerId = company.OwnerId,
        CustomFields = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(company.CustomFields),
    };

    public void ApplyTo(Company company)
    {
        company.Name = Name!.Trim();
        company.Domain = string.IsNullOrWhiteSpace(Domain) ? null : Domain.Trim();
        company.Industry = Industry?.Trim();
        company.EmployeeCount = EmployeeCount;
        company.AnnualRevenue = AnnualRevenue;
        company.Currency = Currency;
        company.Address = Address?.Trim();
        company.OwnerId = OwnerId;
        company.CustomFields = JsonSerializer.Serialize(CustomFields ?? []);
    }
}

public sealed class CompanyFieldsValidator : AbstractValidator<CompanyFields>
{
    public CompanyFieldsValidator()
    {
        RuleFor(x => x.Name).NotEmpty().WithMessage("is required.").MaximumLength(200).WithMessage("must be at most 200 characters.");
        RuleFor(x => x.Domain).MaximumLength(253).MustBeDomain();
        RuleFor(x => x.Industry).MaximumLength(100).WithMessage("must be at most 100 characters.");
        RuleFor(x => x.EmployeeCount).InclusiveBetween(0, 10_000_000).WithMessage("must be between 0 and 10,000,000.");
        RuleFor(x => x.AnnualRevenue).GreaterThanOrEqualTo(0).WithMessage("must not be negative (minor units of currency).");
        RuleFor(x => x.Currency).MustBeCurrency();
        RuleFor(x => x.Currency).NotEmpty().When(x => x.AnnualRevenue is not null).WithMessage("is required when annualRevenue is set.");
        RuleFor(x => x.Address).MaximumLength(500).WithMessage("must be at most 500 characters.");
        RuleFor(x => x.OwnerId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.CustomFields).MustBeCustomFields();
    }
}
