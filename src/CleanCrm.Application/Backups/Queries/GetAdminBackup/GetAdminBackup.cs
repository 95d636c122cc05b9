using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups.Queries.GetAdminBackup;

/// <summary>One backup with its per-table row counts and content hashes.</summary>
[RequiresPlatformAdmin]
public sealed record GetAdminBackup(Guid BackupId) : IQuery<Result<AdminBackupDto>>;

public sealed class GetAdminBackupHandler(ICatalogDbContext db) : IQueryHandler<GetAdminBackup, Result<AdminBackupDto>>
{
    public async ValueTask<Result<AdminBackupDto>> Handle(GetAdminBackup query, CancellationToken cancellationToken)
    {
        var backup = await db.Backups.AsNoTracking().Include(b => b.Tables)
            .FirstOrDefaultAsync(b => b.Id == query.BackupId, cancellationToken);
        return backup is null ? Error.NotFound("Backup", query.BackupId) : AdminBackupDto.From(backup, withTables: true);
    }
}
