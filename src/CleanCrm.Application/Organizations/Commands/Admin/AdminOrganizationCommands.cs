using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Organizations.Commands.Admin;

/// <summary>An organization as the provisioning console sees it.</summary>
public sealed record AdminOrganizationDto(Guid Id, string Slug, string Name, string Status, string Plan, string? DatabaseName, string? SchemaVersion);

internal static class AdminOrganizations
{
    public static AdminOrganizationDto ToDto(Organization o) =>
        new(o.Id, o.Slug, o.Name, o.Status.ToString().ToLowerInvariant(), o.PlanKey, string.IsNullOrEmpty(o.DatabaseName) ? null : o.DatabaseName, o.SchemaVersion);

    public static Error Conflict(Organization o, string action) =>
        new(ErrorType.Conflict, ErrorCodes.Conflict, $"Organization '{o.Slug}' is {o.Status.ToString().ToLowerInvariant()} and cannot be {action}.");
}

[RequiresPlatformAdmin]
public sealed record SuspendOrganization(Guid OrganizationId) : ICommand<Result<AdminOrganizationDto>>;

public sealed class SuspendOrganizationHandler(ICatalogDbContext db, TimeProvider clock) : ICommandHandler<SuspendOrganization, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(SuspendOrganization command, CancellationToken cancellationToken)
    {
        var organization = await db.Organizations.FirstOrDefaultAsync(o => o.Id == command.OrganizationId, cancellationToken);
        if (organization is null)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        if (organization.Status == OrganizationStatus.Suspended)
        {
            return AdminOrganizations.ToDto(organization);
        }

        if (organization.Status != OrganizationStatus.Active)
        {
            return AdminOrganizations.Conflict(organization, "suspended");
        }

        organization.Suspend(clock.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        return AdminOrganizations.ToDto(organization);
    }
}

[RequiresPlatformAdmin]
public sealed record ResumeOrganization(Guid OrganizationId) : ICommand<Result<AdminOrganizationDto>>;

public sealed class ResumeOrganizationHandler(ICatalogDbContext db, TimeProvider clock) : ICommandHandler<ResumeOrganization, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(ResumeOrganization command, CancellationToken cancellationToken)
    {
        var organization = await db.Organizations.FirstOrDefaultAsync(o => o.Id == command.OrganizationId, cancellationToken);
        if (organization is null)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        if (organization.Status == OrganizationStatus.Active)
        {
            return AdminOrganizations.ToDto(organization);
        }

        if (organization.Status != OrganizationStatus.Suspended)
        {
            return AdminOrganizations.Conflict(organization, "resumed");
        }

        organization.Resume(clock.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        return AdminOrganizations.ToDto(organization);
    }
}

/// <summary>Starts a new provisioning run for a failed organization; its finished steps are not redone.</summary>
[RequiresPlatformAdmin]
public sealed record RetryProvisioning(Guid OrganizationId) : ICommand<Result<AdminOrganizationDto>>;

public sealed class RetryProvisioningHandler(ICatalogDbContext db, IProvisioningQueue queue, TimeProvider clock) : ICommandHandler<RetryProvisioning, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(RetryProvisioning command, CancellationToken cancellationToken)
    {
        var organization = await db.Organizations.FirstOrDefaultAsync(o => o.Id == command.OrganizationId, cancellationToken);
        if (organization is null)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        if (organization.Status != OrganizationStatus.Failed)
        {
            return AdminOrganizations.Conflict(organization, "retried (only failed organizations are)");
        }

        var now = clock.GetUtcNow();
        var run = await db.ProvisioningRuns.Include(r => r.Steps).Where(r => r.OrganizationId == organization.Id).OrderByDescending(r => r.CreatedAt).FirstAsync(cancellationToken);
        run.Status = ProvisioningStatus.Pending;
        run.Error = null;
        run.FinishedAt = null;
        foreach (var step in run.Steps.Where(s => s.Status == ProvisioningStatus.Failed))
        {
            step.Status = ProvisioningStatus.Pending;
            step.Attempt = 0;
        }

        organization.Status = OrganizationStatus.Pending;
        organization.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken);
        await queue.EnqueueAsync(run.Id, cancellationToken);
        return AdminOrganizations.ToDto(organization);
    }
}

/// <summary>Schedules the removal of an organization's database, role and secret after the grace period.</summary>
public interface IOrganizationDeletionScheduler
{
    Task ScheduleAsync(Guid organizationId, CancellationToken cancellationToken);
}

/// <summary>Marks the organization deleting (access stops at once) and schedules the drop after a grace period.</summary>
[RequiresPlatformAdmin]
public sealed record DeleteOrganization(Guid OrganizationId) : ICommand<Result<AdminOrganizationDto>>;

public sealed class DeleteOrganizationHandler(ICatalogDbContext db, IOrganizationDeletionScheduler scheduler, TimeProvider clock)
    : ICommandHandler<DeleteOrganization, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(DeleteOrganization command, CancellationToken cancellationToken)
    {
        var organization = await db.Organizations.FirstOrDefaultAsync(o => o.Id == command.OrganizationId, cancellationToken);
        if (organization is null || organization.Status == OrganizationStatus.Deleted)
        {
            return Error.NotFound("Organization", command.OrganizationId);
        }

        if (organization.Status is OrganizationStatus.Pending or OrganizationStatus.Provisioning)
        {
            return AdminOrganizations.Conflict(organization, "deleted while it is being provisioned");
        }

        if (organization.Status != OrganizationStatus.Deleting)
        {
            organization.Status = OrganizationStatus.Deleting;
            organization.UpdatedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(cancellationToken);
            await scheduler.ScheduleAsync(organization.Id, cancellationToken);
        }

        return AdminOrganizations.ToDto(organization);
    }
}

public interface ITenantMoveScheduler
{
    Task ScheduleAsync(Guid organizationId, Guid targetServerId, CancellationToken cancellationToken);
}

public sealed record MoveOrganizationFields
{
    public Guid? DatabaseServerId { get; init; }
}

/// <summary>Queues a move of the organization's database to another server (SPEC §6.4).</summary>
[RequiresPlatformAdmin]
public sealed record MoveOrganization(Guid OrganizationId, MoveOrganizationFields Fields) : ICommand<Result<AdminOrganizationDto>>;

public sealed class MoveOrganizationValidator : AbstractValidator<MoveOrganization>
{
    public MoveOrganizationValidator() =>
        RuleFor(x => x.Fields.DatabaseServerId).NotNull().WithMessage("is required.").NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.")
            .OverridePropertyName("databaseServerId");
}

public sealed class MoveOrganizationHandler(ICatalogDbContext db, ITenantMoveScheduler scheduler) : ICommandHandler<MoveOrganization, Result<AdminOrganizationDto>>
{
    public async ValueTask<Result<AdminOrganizationDto>> Handle(MoveOrganization command, CancellationToken cancellationToken)
    {
        var organization = await db.Organizations.AsNoTracking().FirstOrDefaultAsync(o => o.Id == command.OrganizationId, cancellationToken);
        if (organization is null)
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
            return Error.Validation("databaseServerId", $"Database server '{target.Name}' is {target.Status.ToString().ToLowerInvariant()}; choose an active one.");
        }

        if (organization.DatabaseServerId == targetId)
        {
            return Error.Conflict(ErrorCodes.Conflict, $"Organization '{organization.Slug}' already lives on '{target.Name}'.");
        }

        if (organization.Status != OrganizationStatus.Active)
        {
            return AdminOrganizations.Conflict(organization, "moved (only active organizations move)");
        }

        await scheduler.ScheduleAsync(organization.Id, targetId, cancellationToken);
        return AdminOrganizations.ToDto(organization);
    }
}
