using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups.Queries.ListBackups;

/// <summary>
/// The organization's backups, newest first (<c>GET /api/v1/backups</c>, docs/BACKUPS.md); recorded in the access log.
/// </summary>
[RequiresPermission(Permission.BackupsRead)]
public sealed record ListBackups(int? Limit = null, string? Cursor = null, string? ClientAddress = null)
    : IQuery<Result<Page<BackupDto>>>, IOrgScopedRequest;

/// <summary>A backup as owners and auditors see it.</summary>
public sealed record BackupDto(
    Guid Id,
    Guid OrganizationId,
    BackupStatus Status,
    BackupTrigger Trigger,
    string? SchemaVersion,
    long? SizeBytes,
    string? Sha256,
    DateTimeOffset QueuedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? ExpiresAt,
    string? Error)
{
    public static BackupDto From(Backup b, int retentionDays) => new(
        b.Id,
        b.OrganizationId,
        b.Status,
        b.Trigger,
        b.SchemaVersion,
        b.SizeBytes,
        b.Sha256,
        b.QueuedAt,
        b.StartedAt,
        b.FinishedAt,
        b.Status == BackupStatus.Succeeded && b.FinishedAt is { } finished ? finished.AddDays(retentionDays) : null,
        b.Error);
}

public sealed class ListBackupsValidator : AbstractValidator<ListBackups>
{
    public ListBackupsValidator()
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Cursor).Must(cursor => Common.Paging.Cursor.TryDecode(cursor, ListBackupsHandler.Sort, out _))
            .WithMessage("is not a cursor returned by this list.");
    }
}

public sealed class ListBackupsHandler(ICatalogDbContext db, ITenantContext tenant, ICallerContext caller, TimeProvider clock)
    : IQueryHandler<ListBackups, Result<Page<BackupDto>>>
{
    internal const string Sort = "-queuedAt";

    private static readonly SortKey<Backup> Key = SortKey<Backup>.Time("queuedAt", b => b.QueuedAt);

    public async ValueTask<Result<Page<BackupDto>>> Handle(ListBackups query, CancellationToken cancellationToken)
    {
        var organization = tenant.Current!;
        Cursor.TryDecode(query.Cursor, Sort, out var after);
        var limit = query.Limit ?? Cursor.DefaultLimit;
        var retention = await db.Plans.Where(p => p.Key == organization.PlanKey)
            .Select(p => p.BackupRetentionDays)
            .FirstOrDefaultAsync(cancellationToken);
        var backups = db.Backups.AsNoTracking().Where(b => b.OrganizationId == organization.OrganizationId);
        var rows = await Keyset.Seek(backups, Key, descending: true, after, b => b.Id).Take(limit + 1).ToListAsync(cancellationToken);
        var page = Keyset.ToPage(rows, limit, Key, Sort, b => b.Id, b => BackupDto.From(b, retention));
        var organizationId = organization.OrganizationId;
        var outcome = $"{page.Items.Count} backups";
        BackupAccessLogWriter.Append(db, caller, clock, organizationId, BackupAccessAction.List, null, query.ClientAddress, outcome);
        await db.SaveChangesAsync(cancellationToken);
        return page;
    }
}
