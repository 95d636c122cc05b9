using CleanCrm.Application.Common.Validation;
using CleanCrm.Domain.Tenant;
using FluentValidation;

namespace CleanCrm.Application.Deals;

/// <summary>The writable fields of a deal. Status and closedAt follow the stage; change them by moving the deal.</summary>
public sealed record DealFields
{
    public string? Name { get; init; }

    public long? Amount { get; init; }

    public string? Currency { get; init; }

    public Guid? PipelineId { get; init; }

    public Guid? StageId { get; init; }

    public int? Probability { get; init; }

    public DateOnly? ExpectedCloseDate { get; init; }

    public string? LostReason { get; init; }

    public Guid? CompanyId { get; init; }

    public Guid? PrimaryContactId { get; init; }

    public Guid? OwnerId { get; init; }

    public static DealFields From(Deal deal) => new()
    {
        Name = deal.Name,
        Amount = deal.Amount,
        Currency = deal.Currency,
        PipelineId = deal.PipelineId,
        StageId = deal.StageId,
        Probability = deal.Probability,
        ExpectedCloseDate = deal.ExpectedCloseDate,
        LostReason = deal.LostReason,
        CompanyId = deal.CompanyId,
        PrimaryContactId = deal.PrimaryContactId,
        OwnerId = deal.OwnerId,
    };

    public void ApplyTo(Deal deal)
    {
        deal.Name = Name!.Trim();
        deal.Amount = Amount;
        deal.Currency = Currency;
        deal.ExpectedCloseDate = ExpectedCloseDate;
        deal.LostReason = string.IsNullOrWhiteSpace(LostReason) ? null : LostReason.Trim();
        deal.CompanyId = CompanyId;
        deal.PrimaryContactId = PrimaryContactId;
        deal.OwnerId = OwnerId;
    }
}

public sealed class DealFieldsValidator : AbstractValidator<DealFields>
{
    public DealFieldsValidator()
    {
        RuleFor(x => x.Name).NotEmpty().WithMessage("is required.").MaximumLength(200).WithMessage("must be at most 200 characters.");
        RuleFor(x => x.Amount).GreaterThanOrEqualTo(0).WithMessage("must not be negative (minor units of currency).");
        RuleFor(x => x.Currency).MustBeCurrency();
        RuleFor(x => x.Currency).NotEmpty().When(x => x.Amount is not null).WithMessage("is required when amount is set.");
        RuleFor(x => x.Probability).InclusiveBetween(0, 100).WithMessage("must be between 0 and 100.");
        RuleFor(x => x.ExpectedCloseDate).InclusiveBetween(new DateOnly(1900, 1, 1), new DateOnly(9999, 12, 31))
            .WithMessage("must be a date between 1900-01-01 and 9999-12-31.");
        RuleFor(x => x.LostReason).MaximumLength(500).WithMessage("must be at most 500 characters.");
        RuleFor(x => x.PipelineId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.StageId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.CompanyId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.PrimaryContactId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        RuleFor(x => x.OwnerId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
    }
}
