using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Companies.Commands.CreateCompany;

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateCompany(CompanyFields Fields) : ICommand<Result<CompanyDto>>, IOrgScopedRequest;

public sealed class CreateCompanyValidator : AbstractValidator<CreateCompany>
{
    public CreateCompanyValidator() => RuleFor(x => x.Fields).SetValidator(new CompanyFieldsValidator());
}

public sealed class CreateCompanyHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<CreateCompany, Result<CompanyDto>>
{
    public async ValueTask<Result<CompanyDto>> Handle(CreateCompany command, CancellationToken cancellationToken)
    {
        var fields = command.Fields;
        if (await CrmReferences.CheckOwnerAsync(db, fields.OwnerId, cancellationToken) is { } ownerError)
        {
            return ownerError;
        }

        if (fields.Domain is { } domain && await db.Companies.AnyAsync(c => c.Domain == domain && c.DeletedAt == null, cancellationToken))
        {
            return CompanyErrors.DomainTaken(domain);
        }

        var now = clock.GetUtcNow();
        var company = new Company { Name = fields.Name!, CreatedAt = now, UpdatedAt = now, CreatedBy = caller.UserId, UpdatedBy = caller.UserId };
        fields.ApplyTo(company);
        db.Companies.Add(company);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (ConstraintViolationException exception) when (CompanyErrors.FromConstraint(exception, fields.Domain) is { } error)
        {
            return error;
        }

        return CompanyDto.From(company);
    }
}
