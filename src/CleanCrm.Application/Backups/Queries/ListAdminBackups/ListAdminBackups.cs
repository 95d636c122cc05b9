using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups.Queries.ListAdminBackups;

/// <summary>
/// Backups across the fleet with their progress and failure reasons (<c>GET /api/v1/admin/backups?orgId=&amp;status=</c>).
/// </summary>
[RequiresPlatformAdmin]
public sealed record ListAdminBackups(Guid? OrganizationId = null, string? Status = null, int? Limit = null, string? Cursor = null)
    : IQuery<Result<Page<AdminBackupDto>>>;

public sealed class ListAdminBackupsValidator : AbstractValidator<ListAdminBackups>
{
    public ListAdminBackupsValidator()
    {
        RuleFor(x => x.Status).Must(s => s is null || BackupEnums.TryParse<BackupStatus>(s, out _))
            .WithMessage($"must be one of {BackupEnums.List<BackupStatus>()}.");
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Cursor).Must(cursor => Common.Paging.Cursor.TryDecode(cursor, ListAdminBackupsHandler.Sort, out _))
            .WithMessage("is not a cursor returned by this list.");
    }
}

public sealed class ListAdminBackupsHandler(ICatalogDbContext db) : IQueryHandler<ListAdminBackups, Result<Page<AdminBackupDto>>>
{
    internal const string Sort = "-queuedAt";

    private static readonly SortKey<Backup> Key = SortKey<Backup>.Time("queuedAt", b => b.QueuedAt);

    public async ValueTask<Result<Page<AdminBackupDto>>> Handle(ListAdminBackups query, CancellationToken cancellationToken)
    {
        var backups = db.Backups.AsNoTracking();
        if (query.OrganizationId is { } organizationId)
        {
            backups = backups.Where(b => b.OrganizationId == organizationId);
        }

        if (query.Status is not null && BackupEnums.TryParse<BackupStatus>(query.Status, out var status))
        {
            backups = backups.Where(b => b.Status == status);
        }

        Cursor.TryDecode(query.Cursor, Sort, out var after);
        var limit = query.Limit ?? Cursor.DefaultLimit;
        var rows = await Keyset.Seek(backups, Key, descending: true, after, b => b.Id).Take(limit + 1).ToListAsync(cancellationToken);
        return Keyset.ToPage(rows, limit, Key, Sort, b => b.Id, b => AdminBackupDto.From(b));
    }
}
