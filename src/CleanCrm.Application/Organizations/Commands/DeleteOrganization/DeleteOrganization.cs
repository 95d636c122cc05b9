using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Organizations.Commands.DeleteOrganization;

/// <summary>Marks the organization deleting (access stops at once) and schedules the drop after a grace period.</summary>
[RequiresPlatformAdmin]
/// <param name="Reason">Why (at most 500 characters); optional here, the console requires one; logged in the platform audit log.</param>
public sealed record DeleteOrganization(Guid OrganizationId, string? Reason = null)
    : ICommand<Result<AdminOrganizationDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => Reason;
}

public sealed class DeleteOrganizationValidator : AbstractValidator<DeleteOrganization>
{
    public DeleteOrganizationValidator()
    {
        RuleFor(x => x.Reason).MaximumLength(OrganizationRules.MaxReasonLength)
            .WithMessage($"must be at most {OrganizationRules.MaxReasonLength} characters.");
    }
}

public sealed class DeleteOrganizationHandler(ICatalogDbContext db, IOrganizationDeletionScheduler scheduler, TimeProvider clock)
    : ICommandHandler<DeleteOrganization, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(DeleteOrganization command, CancellationToken cancellationToken)
    {
        if (await OrganizationLookup.FindUndeletedAsync(db, command.OrganizationId, cancellationToken) is not { } organization)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        if (organization.Status is OrganizationStatus.Pending or OrganizationStatus.Provisioning)
        {
            return OrganizationErrors.CannotBe(organization, "deleted while it is being provisioned");
        }

        if (organization.Status != OrganizationStatus.Deleting)
        {
            organization.Status = OrganizationStatus.Deleting;
            organization.UpdatedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(cancellationToken);
            await scheduler.ScheduleAsync(organization.Id, cancellationToken);
        }

        return AdminOrganizationDto.From(organization);
    }
}
