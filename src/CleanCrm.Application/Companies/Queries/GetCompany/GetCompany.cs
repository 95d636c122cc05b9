using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Companies.Queries.GetCompany;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetCompany(Guid Id) : IQuery<Result<CompanyDto>>, IOrgScopedRequest;

public sealed class GetCompanyHandler(ITenantDbContext db) : IQueryHandler<GetCompany, Result<CompanyDto>>
{
    public async ValueTask<Result<CompanyDto>> Handle(GetCompany query, CancellationToken cancellationToken)
    {
        var company = await db.Companies.AsNoTracking().FirstOrDefaultAsync(c => c.Id == query.Id && c.DeletedAt == null, cancellationToken);
        return company is null ? CompanyErrors.NotFound(query.Id) : CompanyDto.From(company);
    }
}
