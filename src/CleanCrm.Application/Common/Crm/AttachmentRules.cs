using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;
using FluentValidation;

namespace CleanCrm.Application.Common.Crm;

/// <summary>The company/contact/deal a note, task or activity hangs on: at least one, each live in this organization.</summary>
public interface IAttachmentFields
{
    Guid? CompanyId { get; }

    Guid? ContactId { get; }

    Guid? DealId { get; }
}

public static class AttachmentRules
{
    public static void AddAttachmentRules<T>(this AbstractValidator<T> validator)
        where T : IAttachmentFields
    {
        validator.RuleFor(x => x)
            .Must(x => x.CompanyId is not null || x.ContactId is not null || x.DealId is not null)
            .WithMessage("at least one of companyId, contactId or dealId is required.")
            .OverridePropertyName("companyId");
        validator.RuleFor(x => x.CompanyId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        validator.RuleFor(x => x.ContactId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        validator.RuleFor(x => x.DealId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
    }

    /// <summary>Checks only the targets that changed (all of them on create).</summary>
    public static async Task<Error?> CheckAsync(
        ITenantDbContext db, IAttachmentFields fields, AttachedEntity? current, CancellationToken cancellationToken) =>
        (fields.CompanyId != current?.CompanyId
            ? await CrmReferences.CheckCompanyAsync(db, fields.CompanyId, "companyId", cancellationToken)
            : null)
        ?? (fields.ContactId != current?.ContactId
            ? await CrmReferences.CheckContactAsync(db, fields.ContactId, "contactId", cancellationToken)
            : null)
        ?? (fields.DealId != current?.DealId
            ? await CrmReferences.CheckDealAsync(db, fields.DealId, "dealId", cancellationToken)
            : null);

    public static void ApplyTo(this IAttachmentFields fields, AttachedEntity entity)
    {
        entity.CompanyId = fields.CompanyId;
        entity.ContactId = fields.ContactId;
        entity.DealId = fields.DealId;
    }

    public static IQueryable<T> AttachedTo<T>(this IQueryable<T> source, Guid? companyId, Guid? contactId, Guid? dealId)
        where T : AttachedEntity
    {
        if (companyId is { } company)
        {
            source = source.Where(e => e.CompanyId == company);
        }

        if (contactId is { } contact)
        {
            source = source.Where(e => e.ContactId == contact);
        }

        if (dealId is { } deal)
        {
            source = source.Where(e => e.DealId == deal);
        }

        return source;
    }
}
