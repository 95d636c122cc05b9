using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups.Queries.GetRestore;

[RequiresPlatformAdmin]
public sealed record GetRestore(Guid RestoreId) : IQuery<Result<RestoreDto>>;

public sealed class GetRestoreHandler(ICatalogDbContext db) : IQueryHandler<GetRestore, Result<RestoreDto>>
{
    public async ValueTask<Result<RestoreDto>> Handle(GetRestore query, CancellationToken cancellationToken) =>
        await db.BackupRestores.AsNoTracking().FirstOrDefaultAsync(r => r.Id == query.RestoreId, cancellationToken) is { } restore
            ? RestoreDto.From(restore)
            : Error.NotFound("Restore", query.RestoreId);
}
