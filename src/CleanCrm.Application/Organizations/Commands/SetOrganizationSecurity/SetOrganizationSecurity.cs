using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Organizations.Queries.GetOrganizationSecurity;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Organizations.Commands.SetOrganizationSecurity;

public sealed record OrganizationSecurityFields
{
    public bool? RequireTwoFactor { get; init; }
}

/// <summary>
/// Sets an organization's sign-in policy (<c>PUT /api/v1/orgs/{slug}/security</c>, owners and admins). Requiring two-factor
/// takes effect at each member's next sign-in: members without a second factor enrol before they get in.
/// </summary>
[RequiresSignedInUser]
public sealed record SetOrganizationSecurity(string Slug, OrganizationSecurityFields Fields) : ICommand<Result<OrganizationSecurityDto>>;

public sealed class SetOrganizationSecurityValidator : AbstractValidator<SetOrganizationSecurity>
{
    public SetOrganizationSecurityValidator() =>
        RuleFor(x => x.Fields.RequireTwoFactor).NotNull().WithMessage("is required (true or false).")
            .OverridePropertyName("requireTwoFactor");
}

public sealed class SetOrganizationSecurityHandler(ICatalogDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<SetOrganizationSecurity, Result<OrganizationSecurityDto>>
{
    public async ValueTask<Result<OrganizationSecurityDto>> Handle(SetOrganizationSecurity command, CancellationToken cancellationToken)
    {
        var membership = await db.Memberships.AsNoTracking().Include(m => m.Organization)
            .FirstOrDefaultAsync(
                m => m.UserId == caller.UserId && m.Organization!.Slug == command.Slug
                     && m.Organization.Status != OrganizationStatus.Deleted,
                cancellationToken);
        if (membership is null)
        {
            return Error.NotFound("Organization", command.Slug);
        }

        if (membership.Role is not (OrgRole.Owner or OrgRole.Admin))
        {
            return Error.Forbidden(ErrorCodes.Forbidden, "Only owners and admins manage the organization's sign-in policy.");
        }

        // One column, set atomically: the organization row is also written by provisioning, billing and the size job,
        // and a policy switch must not fail (or overwrite them) because one of them touched the row after it was read.
        var require = command.Fields.RequireTwoFactor!.Value;
        var now = clock.GetUtcNow();
        await db.Organizations.Where(o => o.Id == membership.OrganizationId)
            .ExecuteUpdateAsync(o => o.SetProperty(x => x.RequireTwoFactor, require).SetProperty(x => x.UpdatedAt, now),
                cancellationToken);
        return new OrganizationSecurityDto(require);
    }
}
