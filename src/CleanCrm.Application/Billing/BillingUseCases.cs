using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing;

/// <summary>The effective feature map of the organization in scope (SPEC §6.3), every premium key present.</summary>
[RequiresPermission(Permission.OrganizationRead)]
public sealed record GetFeatures : IQuery<Result<IReadOnlyDictionary<string, bool>>>, IOrgScopedRequest;

public sealed class GetFeaturesHandler(IFeatures features, ITenantContext tenant) : IQueryHandler<GetFeatures, Result<IReadOnlyDictionary<string, bool>>>
{
    public async ValueTask<Result<IReadOnlyDictionary<string, bool>>> Handle(GetFeatures query, CancellationToken cancellationToken) =>
        Result<IReadOnlyDictionary<string, bool>>.Success(await features.GetAllAsync(tenant.Current!.OrganizationId, cancellationToken));
}

[RequiresPermission(Permission.OrganizationRead)]
public sealed record GetEntitlements : IQuery<Result<EntitlementsDto>>, IOrgScopedRequest;

public sealed class GetEntitlementsHandler(IEntitlements entitlements, ITenantContext tenant) : IQueryHandler<GetEntitlements, Result<EntitlementsDto>>
{
    public async ValueTask<Result<EntitlementsDto>> Handle(GetEntitlements query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        return await entitlements.GetAsync(organizationId, cancellationToken) is { } dto ? dto : Error.NotFound("Organization", organizationId);
    }
}

public sealed record UsagePeriodDto(string Metric, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, long Quantity, bool Reported);

public sealed record UsageReportDto(IReadOnlyList<UsagePeriodDto> Items);

/// <summary>Usage history per billing period: an advanced report, so it needs the <c>advanced_reporting</c> feature.</summary>
[RequiresPermission(Permission.MembersManage)]
[RequiresFeature(PremiumFeatures.AdvancedReporting)]
public sealed record GetUsageReport : IQuery<Result<UsageReportDto>>, IOrgScopedRequest;

public sealed class GetUsageReportHandler(ICatalogDbContext db, ITenantContext tenant) : IQueryHandler<GetUsageReport, Result<UsageReportDto>>
{
    public async ValueTask<Result<UsageReportDto>> Handle(GetUsageReport query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var items = await db.UsageRollups.AsNoTracking()
            .Where(r => r.OrganizationId == organizationId)
            .OrderByDescending(r => r.PeriodStart).ThenBy(r => r.Metric)
            .Take(24)
            .Select(r => new UsagePeriodDto(r.Metric, r.PeriodStart, r.PeriodEnd, r.Quantity, r.ReportedAt != null))
            .ToListAsync(cancellationToken);
        return new UsageReportDto(items);
    }
}

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

public sealed class GetSubscriptionHandler(ICatalogDbContext db, ITenantContext tenant) : IQueryHandler<GetSubscription, Result<SubscriptionDto>>
{
    public async ValueTask<Result<SubscriptionDto>> Handle(GetSubscription query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var plan = await db.Organizations.Where(o => o.Id == organizationId).Select(o => o.PlanKey).FirstAsync(cancellationToken);
        var s = await db.Subscriptions.AsNoTracking().FirstOrDefaultAsync(x => x.OrganizationId == organizationId, cancellationToken);
        return s is null
            ? new SubscriptionDto(plan, SubscriptionStatuses.None, null, null, null, null, false, null, null)
            : new SubscriptionDto(plan, s.Status, s.RequestedPlanKey, s.Quantity, s.CurrentPeriodStart, s.CurrentPeriodEnd, s.CancelAtPeriodEnd, s.TrialEndsAt, s.PastDueSince);
    }
}

public sealed record InvoiceListDto(IReadOnlyList<InvoiceDto> Items);

[RequiresPermission(Permission.BillingManage)]
public sealed record ListInvoices : IQuery<Result<InvoiceListDto>>, IOrgScopedRequest;

public sealed class ListInvoicesHandler(ICatalogDbContext db, ITenantContext tenant, IPaymentProvider payments) : IQueryHandler<ListInvoices, Result<InvoiceListDto>>
{
    public async ValueTask<Result<InvoiceListDto>> Handle(ListInvoices query, CancellationToken cancellationToken)
    {
        var organizationId = tenant.Current!.OrganizationId;
        var customer = await db.Subscriptions.Where(s => s.OrganizationId == organizationId).Select(s => s.StripeCustomerId).FirstOrDefaultAsync(cancellationToken);
        if (customer is null)
        {
            return new InvoiceListDto([]);
        }

        return payments.IsConfigured ? new InvoiceListDto(await payments.ListInvoicesAsync(customer, cancellationToken)) : BillingErrors.NotConfigured();
    }
}

public sealed record CheckoutFields
{
    public string? Plan { get; init; }
}

public sealed record CheckoutSessionDto(string Url);

/// <summary>Starts a Stripe Checkout for a paid plan, one seat per member; the webhook switches the plan when it is paid.</summary>
[RequiresPermission(Permission.BillingManage)]
public sealed record StartCheckout(CheckoutFields Fields) : ICommand<Result<CheckoutSessionDto>>, IOrgScopedRequest;

public sealed class StartCheckoutValidator : AbstractValidator<StartCheckout>
{
    public StartCheckoutValidator() =>
        RuleFor(x => x.Fields.Plan).NotEmpty().WithMessage("is required.")
            .Must(plan => plan is Plan.Pro or Plan.Enterprise).WithMessage($"must be one of {Plan.Pro}, {Plan.Enterprise} (free needs no checkout).")
            .OverridePropertyName("plan");
}

public sealed class StartCheckoutHandler(ICatalogDbContext db, ITenantContext tenant, IPaymentProvider payments, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<StartCheckout, Result<CheckoutSessionDto>>
{
    public async ValueTask<Result<CheckoutSessionDto>> Handle(StartCheckout command, CancellationToken cancellationToken)
    {
        if (!payments.IsConfigured)
        {
            return BillingErrors.NotConfigured();
        }

        var plan = command.Fields.Plan!;
        if (!payments.Sells(plan))
        {
            return Error.Validation("plan", $"No price is configured for the {plan} plan; contact sales.");
        }

        var current = tenant.Current!;
        var subscription = await BillingAccounts.GetOrAddAsync(db, current.OrganizationId, clock.GetUtcNow(), cancellationToken);
        if (subscription.StripeSubscriptionId is not null && SubscriptionStatuses.GrantsPlan(subscription.Status))
        {
            return Error.Conflict(ErrorCodes.Conflict, $"This organization already has a {subscription.Status} {subscription.PlanKey} subscription; change plans in the billing portal (POST /api/v1/billing/portal).");
        }

        if (subscription.StripeCustomerId is null)
        {
            var email = caller.UserId is { } userId ? await db.Users.Where(u => u.Id == userId).Select(u => u.Email).FirstOrDefaultAsync(cancellationToken) : null;
            subscription.StripeCustomerId = await payments.CreateCustomerAsync(current.OrganizationId, current.Name, email, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
        }

        var members = await db.Memberships.CountAsync(m => m.OrganizationId == current.OrganizationId, cancellationToken);
        var url = await payments.CreateCheckoutSessionAsync(new CheckoutRequest(current.OrganizationId, subscription.StripeCustomerId, plan, Math.Max(1, members)), cancellationToken);
        return new CheckoutSessionDto(url);
    }
}

[RequiresPermission(Permission.BillingManage)]
public sealed record OpenBillingPortal : ICommand<Result<CheckoutSessionDto>>, IOrgScopedRequest;

public sealed class OpenBillingPortalHandler(ICatalogDbContext db, ITenantContext tenant, IPaymentProvider payments) : ICommandHandler<OpenBillingPortal, Result<CheckoutSessionDto>>
{
    public async ValueTask<Result<CheckoutSessionDto>> Handle(OpenBillingPortal command, CancellationToken cancellationToken)
    {
        if (!payments.IsConfigured)
        {
            return BillingErrors.NotConfigured();
        }

        var organizationId = tenant.Current!.OrganizationId;
        var customer = await db.Subscriptions.Where(s => s.OrganizationId == organizationId).Select(s => s.StripeCustomerId).FirstOrDefaultAsync(cancellationToken);
        return customer is null
            ? Error.Conflict(ErrorCodes.Conflict, "This organization has no billing account yet; start one with POST /api/v1/billing/checkout.")
            : new CheckoutSessionDto(await payments.CreatePortalSessionAsync(customer, cancellationToken));
    }
}

internal static class BillingAccounts
{
    public static async Task<BillingSubscription> GetOrAddAsync(ICatalogDbContext db, Guid organizationId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var subscription = await db.Subscriptions.FirstOrDefaultAsync(s => s.OrganizationId == organizationId, cancellationToken);
        if (subscription is null)
        {
            subscription = new BillingSubscription { OrganizationId = organizationId, UpdatedAt = now };
            db.Subscriptions.Add(subscription);
        }

        return subscription;
    }
}
