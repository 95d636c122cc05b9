using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing.Queries.ListInvoices;

public sealed record InvoiceListDto(IReadOnlyList<InvoiceDto> Items);

[RequiresPermission(Permission.BillingManage)]
public sealed record ListInvoices : IQuery<Result<InvoiceListDto>>, IOrgScopedRequest;

public sealed class ListInvoicesHandler(ICatalogDbContext db, ITenantContext tenant, IPaymentProvider payments)
    : IQueryHandler<ListInvoices, Result<InvoiceListDto>>
{
    public async ValueTask<Result<InvoiceListDto>> Handle(ListInvoices query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var customer = await db.Subscriptions.Where(s => s.OrganizationId == organizationId)
            .Select(s => s.StripeCustomerId)
            .FirstOrDefaultAsync(cancellationToken);
        if (customer is null)
        {
            return new InvoiceListDto([]);
        }

        return payments.IsConfigured
            ? new InvoiceListDto(await payments.ListInvoicesAsync(customer, cancellationToken))
            : BillingErrors.NotConfigured();
    }
}
