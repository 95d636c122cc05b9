using System.Text.Json;
using CleanCrm.Application.Common.Behaviors;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Companies.Commands.UpdateCompany;

/// <summary>JSON merge patch of a company; <paramref name="IfMatch"/> is the version the client saw (optional).</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateCompany(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<CompanyDto>>, IOrgScopedRequest;

public sealed class UpdateCompanyHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<UpdateCompany, Result<CompanyDto>>
{
    private static readonly CompanyFieldsValidator Validator = new();

    public async ValueTask<Result<CompanyDto>> Handle(UpdateCompany command, CancellationToken cancellationToken)
    {
        var company = await db.Companies.FirstOrDefaultAsync(c => c.Id == command.Id && c.DeletedAt == null, cancellationToken);
        if (company is null)
        {
            return CompanyErrors.NotFound(command.Id);
        }

        if (command.IfMatch is { } expected && expected != company.Version)
        {
            return Error.PreconditionFailed($"Company '{command.Id}' changed since version {expected}; fetch it again and retry.");
        }

        var merged = JsonMergePatch.Apply(CompanyFields.From(company), command.Patch);
        if (!merged.IsSuccess)
        {
            return merged.Error!;
        }

        var fields = merged.Value;
        var validation = await Validator.ValidateAsync(fields, cancellationToken);
        if (!validation.IsValid)
        {
            return ValidationErrors.From(validation.Errors);
        }

        if (fields.OwnerId != company.OwnerId && await CrmReferences.CheckOwnerAsync(db, fields.OwnerId, cancellationToken) is { } ownerError)
        {
            return ownerError;
        }

        if (fields.Domain is { } domain && domain != company.Domain
            && await db.Companies.AnyAsync(c => c.Domain == domain && c.DeletedAt == null && c.Id != company.Id, cancellationToken))
        {
            return CompanyErrors.DomainTaken(domain);
        }

        db.ExpectVersion(company, command.IfMatch ?? company.Version);
        fields.ApplyTo(company);
        company.UpdatedAt = clock.GetUtcNow();
        company.UpdatedBy = caller.UserId;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (ConcurrencyConflictException)
        {
            return Error.PreconditionFailed($"Company '{command.Id}' was changed by someone else meanwhile; fetch it again and retry.");
        }
        catch (ConstraintViolationException exception) when (CompanyErrors.FromConstraint(exception, fields.Domain) is { } error)
        {
            return error;
        }

        return CompanyDto.From(company);
    }
}
