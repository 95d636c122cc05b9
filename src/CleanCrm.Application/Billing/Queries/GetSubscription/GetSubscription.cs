using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing.Queries.GetSubscription;

public sealed record SubscriptionDto(
    string Plan,
    string Status,
    string? RequestedPlan,
    int? Quantity,
    DateTimeOffset? CurrentPeriodStart,
    DateTimeOffset? CurrentPeriodEnd,
    bool CancelAtPeriodEnd,
    DateTimeOffset? TrialEndsAt,
    DateTimeOffset? PastDueSince);

[RequiresPermission(Permission.BillingManage)]
public sealed record GetSubscription : IQuery<Result<SubscriptionDto>>, IOrgScopedRequest;

public sealed class GetSubscriptionHandler(ICatalogDbContext db, ITenantContext tenant)
    : IQueryHandler<GetSubscription, Result<SubscriptionDto>>
{
    public async ValueTask<Result<SubscriptionDto>> Handle(GetSubscription query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var plan = await db.Organizations.Where(o => o.Id == organizationId).Select(o => o.PlanKey).FirstAsync(cancellationToken);
        var s = await db.Subscriptions.AsNoTracking().FirstOrDefaultAsync(x => x.OrganizationId == organizationId, cancellationToken);
        return s is null
            ? new SubscriptionDto(plan, SubscriptionStatuses.None, null, null, null, null, false, null, null)
            : new SubscriptionDto(
                plan,
                s.Status,
                s.RequestedPlanKey,
                s.Quantity,
                s.CurrentPeriodStart,
                s.CurrentPeriodEnd,
                s.CancelAtPeriodEnd,
                s.TrialEndsAt,
                s.PastDueSince);
    }
}
