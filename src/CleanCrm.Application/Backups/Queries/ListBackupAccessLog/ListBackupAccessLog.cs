using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Backups.Queries.ListBackupAccessLog;

/// <summary>Who listed, verified or downloaded the organization's backups, newest first.</summary>
[RequiresPermission(Permission.BackupsRead)]
public sealed record ListBackupAccessLog(int? Limit = null, string? Cursor = null, string? ClientAddress = null)
    : IQuery<Result<BackupAccessLogPage>>, IOrgScopedRequest;

public sealed class ListBackupAccessLogValidator : AbstractValidator<ListBackupAccessLog>
{
    public ListBackupAccessLogValidator()
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Cursor).Must(BackupAccessLogWriter.IsCursor).WithMessage("is not a cursor returned by this list.");
    }
}

public sealed class ListBackupAccessLogHandler(ICatalogDbContext db, ITenantContext tenant)
    : IQueryHandler<ListBackupAccessLog, Result<BackupAccessLogPage>>
{
    public async ValueTask<Result<BackupAccessLogPage>> Handle(ListBackupAccessLog query, CancellationToken cancellationToken) =>
        await BackupAccessLogWriter.PageAsync(db, tenant.Current!.OrganizationId, query.Limit, query.Cursor, cancellationToken);
}
