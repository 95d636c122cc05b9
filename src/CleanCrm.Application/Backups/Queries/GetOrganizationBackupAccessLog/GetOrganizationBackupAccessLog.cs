using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Backups.Queries.GetOrganizationBackupAccessLog;

/// <summary>Any organization's backup access log, for platform admins.</summary>
[RequiresPlatformAdmin]
public sealed record GetOrganizationBackupAccessLog(Guid OrganizationId, int? Limit = null, string? Cursor = null)
    : IQuery<Result<BackupAccessLogPage>>;

public sealed class GetOrganizationBackupAccessLogValidator : AbstractValidator<GetOrganizationBackupAccessLog>
{
    public GetOrganizationBackupAccessLogValidator()
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Cursor).Must(BackupAccessLogWriter.IsCursor).WithMessage("is not a cursor returned by this list.");
    }
}

public sealed class GetOrganizationBackupAccessLogHandler(ICatalogDbContext db)
    : IQueryHandler<GetOrganizationBackupAccessLog, Result<BackupAccessLogPage>>
{
    public async ValueTask<Result<BackupAccessLogPage>> Handle(GetOrganizationBackupAccessLog query, CancellationToken cancellationToken)
    {
        if (!await db.Organizations.AnyAsync(o => o.Id == query.OrganizationId, cancellationToken))
        {
            return Error.NotFound("Organization", query.OrganizationId);
        }

        return await BackupAccessLogWriter.PageAsync(db, query.OrganizationId, query.Limit, query.Cursor, cancellationToken);
    }
}
