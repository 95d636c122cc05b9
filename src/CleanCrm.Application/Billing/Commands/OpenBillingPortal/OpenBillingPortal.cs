using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing.Commands.OpenBillingPortal;

[RequiresPermission(Permission.BillingManage)]
public sealed record OpenBillingPortal : ICommand<Result<CheckoutSessionDto>>, IOrgScopedRequest;

public sealed class OpenBillingPortalHandler(ICatalogDbContext db, ITenantContext tenant, IPaymentProvider payments)
    : ICommandHandler<OpenBillingPortal, Result<CheckoutSessionDto>>
{
    public async ValueTask<Result<CheckoutSessionDto>> Handle(OpenBillingPortal command, CancellationToken cancellationToken)
    {
        if (!payments.IsConfigured)
        {
            return BillingErrors.NotConfigured();
        }

        var organizationId = tenant.Current!.OrganizationId;
        var customer = await db.Subscriptions.Where(s => s.OrganizationId == organizationId)
            .Select(s => s.StripeCustomerId)
            .FirstOrDefaultAsync(cancellationToken);
        return customer is null
            ? Error.Conflict(
                ErrorCodes.Conflict, "This organization has no billing account yet; start one with POST /api/v1/billing/checkout.")
            : new CheckoutSessionDto(await payments.CreatePortalSessionAsync(customer, cancellationToken));
    }
}
