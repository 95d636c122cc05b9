using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing.Commands.StartCheckout;

public sealed record CheckoutFields
{
    public string? Plan { get; init; }
}

/// <summary>Starts a Stripe Checkout for a paid plan, one seat per member; the webhook switches the plan when it is paid.</summary>
[RequiresPermission(Permission.BillingManage)]
public sealed record StartCheckout(CheckoutFields Fields) : ICommand<Result<CheckoutSessionDto>>, IOrgScopedRequest;

public sealed class StartCheckoutValidator : AbstractValidator<StartCheckout>
{
    public StartCheckoutValidator() =>
        RuleFor(x => x.Fields.Plan).NotEmpty().WithMessage("is required.")
            .Must(plan => plan is Plan.Pro or Plan.Enterprise)
            .WithMessage($"must be one of {Plan.Pro}, {Plan.Enterprise} (free needs no checkout).")
            .OverridePropertyName("plan");
}

public sealed class StartCheckoutHandler(
    ICatalogDbContext db, ITenantContext tenant, IPaymentProvider payments, ICallerContext caller, TimeProvider clock)
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
        var subscription = await GetOrAddSubscriptionAsync(current.OrganizationId, clock.GetUtcNow(), cancellationToken);
        if (subscription.StripeSubscriptionId is not null && SubscriptionStatuses.GrantsPlan(subscription.Status))
        {
            return Error.Conflict(
                ErrorCodes.Conflict,
                $"This organization already has a {subscription.Status} {subscription.PlanKey} subscription; "
                + "change plans in the billing portal (POST /api/v1/billing/portal).");
        }

        if (subscription.StripeCustomerId is null)
        {
            var email = caller.UserId is { } userId
                ? await db.Users.Where(u => u.Id == userId).Select(u => u.Email).FirstOrDefaultAsync(cancellationToken)
                : null;
            subscription.StripeCustomerId =
                await payments.CreateCustomerAsync(current.OrganizationId, current.Name, email, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
        }

        var members = await db.Memberships.CountAsync(m => m.OrganizationId == current.OrganizationId, cancellationToken);
        var checkout = new CheckoutRequest(current.OrganizationId, subscription.StripeCustomerId, plan, Math.Max(1, members));
        return new CheckoutSessionDto(await payments.CreateCheckoutSessionAsync(checkout, cancellationToken));
    }

    private async Task<BillingSubscription> GetOrAddSubscriptionAsync(
        Guid organizationId, DateTimeOffset now, CancellationToken cancellationToken)
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
