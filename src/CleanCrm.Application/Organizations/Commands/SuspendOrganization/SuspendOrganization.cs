using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Organizations.Commands.SuspendOrganization;

/// <summary>Stops all access to an active organization until it is resumed (docs/OPERATIONS.md).</summary>
[RequiresPlatformAdmin]
/// <param name="Reason">Why (at most 500 characters); optional here, the console requires one; logged in the platform audit log.</param>
public sealed record SuspendOrganization(Guid OrganizationId, string? Reason = null)
    : ICommand<Result<AdminOrganizationDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => Reason;
}

public sealed class SuspendOrganizationValidator : AbstractValidator<SuspendOrganization>
{
    public SuspendOrganizationValidator()
    {
        RuleFor(x => x.Reason).MaximumLength(OrganizationRules.MaxReasonLength)
            .WithMessage($"must be at most {OrganizationRules.MaxReasonLength} characters.");
    }
}

public sealed class SuspendOrganizationHandler(ICatalogDbContext db, TimeProvider clock)
    : ICommandHandler<SuspendOrganization, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(SuspendOrganization command, CancellationToken cancellationToken) =>
        await OrganizationSuspension.MoveAsync(
            db,
            command.OrganizationId,
            from: OrganizationStatus.Active,
            to: OrganizationStatus.Suspended,
            "suspended",
            organization => organization.Suspend(clock.GetUtcNow()),
            cancellationToken);
}
