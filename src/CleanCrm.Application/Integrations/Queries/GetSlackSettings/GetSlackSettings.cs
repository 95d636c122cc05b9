using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Integrations.Queries.GetSlackSettings;

/// <summary>The events the organization posts to Slack, and those it may choose.</summary>
[RequiresPermission(Permission.IntegrationsManage)]
[RequiresFeature(PremiumFeatures.SlackIntegration)]
public sealed record GetSlackSettings : IQuery<Result<SlackSettingsDto>>, IOrgScopedRequest;

public sealed class GetSlackSettingsHandler(ITenantDbContext db) : IQueryHandler<GetSlackSettings, Result<SlackSettingsDto>>
{
    public async ValueTask<Result<SlackSettingsDto>> Handle(GetSlackSettings query, CancellationToken cancellationToken)
    {
        var settings = await db.SlackNotificationSettings.AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        return new SlackSettingsDto(settings?.Events ?? [], SlackNotificationSettings.Supported);
    }
}
