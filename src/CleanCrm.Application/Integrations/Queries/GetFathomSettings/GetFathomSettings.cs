using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Integrations.Queries.GetFathomSettings;

/// <summary>Whether the Fathom sync turns unknown external invitees into contacts for this organization.</summary>
[RequiresPermission(Permission.IntegrationsManage)]
public sealed record GetFathomSettings : IQuery<Result<FathomSettingsDto>>, IOrgScopedRequest;

public sealed class GetFathomSettingsHandler(ITenantDbContext db, IIntegrationDefaults defaults)
    : IQueryHandler<GetFathomSettings, Result<FathomSettingsDto>>
{
    public async ValueTask<Result<FathomSettingsDto>> Handle(GetFathomSettings query, CancellationToken cancellationToken)
    {
        var settings = await db.FathomSettings.AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        return settings is null
            ? new FathomSettingsDto(defaults.FathomCreatesContacts, IsDefault: true)
            : new FathomSettingsDto(settings.CreateContacts, IsDefault: false);
    }
}
