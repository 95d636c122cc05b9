using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Organizations.Commands.ResumeOrganization;

/// <summary>Gives a suspended organization its access back.</summary>
[RequiresPlatformAdmin]
/// <param name="Reason">Why (at most 500 characters); optional here, the console requires one; logged in the platform audit log.</param>
public sealed record ResumeOrganization(Guid OrganizationId, string? Reason = null)
    : ICommand<Result<AdminOrganizationDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => Reason;
}

public sealed class ResumeOrganizationValidator : AbstractValidator<ResumeOrganization>
{
    public ResumeOrganizationValidator()
    {
        RuleFor(x => x.Reason).MaximumLength(OrganizationRules.MaxReasonLength)
            .WithMessage($"must be at most {OrganizationRules.MaxReasonLength} characters.");
    }
}

public sealed class ResumeOrganizationHandler(ICatalogDbContext db, TimeProvider clock)
    : ICommandHandler<ResumeOrganization, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(ResumeOrganization command, CancellationToken cancellationToken) =>
        await OrganizationSuspension.MoveAsync(
            db,
            command.OrganizationId,
            from: OrganizationStatus.Suspended,
            to: OrganizationStatus.Active,
            "resumed",
            organization => organization.Resume(clock.GetUtcNow()),
            cancellationToken);
}
