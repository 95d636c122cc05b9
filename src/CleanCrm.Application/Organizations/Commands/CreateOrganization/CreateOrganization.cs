using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Organizations.Commands.CreateOrganization;

public sealed record CreateOrganizationFields
{
    public string? OrganizationName { get; init; }

    public string? Slug { get; init; }

    public string? Plan { get; init; }
}

/// <summary>A signed-in user creates another organization they own (a user may own several).</summary>
[RequiresSignedInUser]
public sealed record CreateOrganization(CreateOrganizationFields Fields) : ICommand<Result<OrganizationAccepted>>;

public sealed class CreateOrganizationValidator : AbstractValidator<CreateOrganization>
{
    public CreateOrganizationValidator()
    {
        RuleFor(x => x.Fields.OrganizationName).ValidOrganizationName().OverridePropertyName("organizationName");
        RuleFor(x => x.Fields.Slug).ValidSlug().OverridePropertyName("slug");
        RuleFor(x => x.Fields.Plan).ValidPlan().OverridePropertyName("plan");
    }
}

public sealed class CreateOrganizationHandler(ICatalogDbContext db, ICallerContext caller, IProvisioningQueue queue, TimeProvider clock)
    : ICommandHandler<CreateOrganization, Result<OrganizationAccepted>>
{
    public async ValueTask<Result<OrganizationAccepted>> Handle(CreateOrganization command, CancellationToken cancellationToken)
    {
        var userId = caller.UserId!.Value;
        if (!await db.Users.AnyAsync(u => u.Id == userId, cancellationToken))
        {
            return Error.Forbidden(ErrorCodes.Forbidden, "Your account is not registered; sign up first.");
        }

        var slug = command.Fields.Slug!;
        if (await db.Organizations.AnyAsync(o => o.Slug == slug, cancellationToken))
        {
            return OrganizationErrors.SlugTaken(slug);
        }

        var run = OrganizationFactory.Add(
            db, userId, command.Fields.OrganizationName!, slug, command.Fields.Plan!, clock.GetUtcNow(), out var organization);
        return await OrganizationFactory.CommitAndQueueAsync(
            db, queue, run, organization, _ => OrganizationErrors.SlugTaken(slug), cancellationToken);
    }
}
