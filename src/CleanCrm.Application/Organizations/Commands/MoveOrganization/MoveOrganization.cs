using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Organizations.Commands.MoveOrganization;

public sealed record MoveOrganizationFields
{
    public Guid? DatabaseServerId { get; init; }
}

/// <summary>Queues a move of the organization's database to another server (docs/OPERATIONS.md).</summary>
[RequiresPlatformAdmin]
public sealed record MoveOrganization(Guid OrganizationId, MoveOrganizationFields Fields)
    : ICommand<Result<AdminOrganizationDto>>, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => null;

    Guid? IPlatformAuditedRequest.AuditTargetId => Fields.DatabaseServerId;
}

public sealed class MoveOrganizationValidator : AbstractValidator<MoveOrganization>
{
    public MoveOrganizationValidator() =>
        RuleFor(x => x.Fields.DatabaseServerId)
            .NotNull().WithMessage("is required.")
            .NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.")
            .OverridePropertyName("databaseServerId");
}

public sealed class MoveOrganizationHandler(ICatalogDbContext db, ITenantMoveScheduler scheduler)
    : ICommandHandler<MoveOrganization, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(MoveOrganization command, CancellationToken cancellationToken)
    {
        if (await OrganizationLookup.FindAsync(db, command.OrganizationId, cancellationToken) is not { } organization)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        var targetId = command.Fields.DatabaseServerId!.Value;
        var target = await db.DatabaseServers.AsNoTracking().FirstOrDefaultAsync(s => s.Id == targetId, cancellationToken);
        if (target is null)
        {
            return Error.Validation("databaseServerId", $"databaseServerId '{targetId}' does not name a database server.");
        }

        if (target.Status != DatabaseServerStatus.Active)
        {
            return Error.Validation(
                "databaseServerId",
                $"Database server '{target.Name}' is {target.Status.ToString().ToLowerInvariant()}; choose an active one.");
        }

        if (organization.DatabaseServerId == targetId)
        {
            return Error.Conflict(ErrorCodes.Conflict, $"Organization '{organization.Slug}' already lives on '{target.Name}'.");
        }

        if (organization.Status != OrganizationStatus.Active)
        {
            return OrganizationErrors.CannotBe(organization, "moved (only active organizations move)");
        }

        await scheduler.ScheduleAsync(organization.Id, targetId, cancellationToken);
        return AdminOrganizationDto.From(organization);
    }
}
