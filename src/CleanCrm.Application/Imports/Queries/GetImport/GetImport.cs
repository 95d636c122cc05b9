using System.Text.Json;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Imports.Queries.GetImport;

[RequiresPermission(Permission.CrmRead)]
public sealed record GetImport(Guid Id) : IQuery<Result<ImportDto>>, IOrgScopedRequest;

/// <summary>
/// An import's progress: <c>rowsRead = inserted + updated + skipped + failed</c> once it succeeded; <c>errors</c> holds
/// the first row errors (<see cref="ImportLimits.StoredRowErrors"/>) by line; <c>failureReason</c> says why a failed
/// import wrote nothing.
/// </summary>
public sealed record ImportDto(
    Guid Id,
    string Kind,
    ImportStatus Status,
    DuplicatePolicy OnDuplicate,
    string? FileName,
    long SizeBytes,
    int RowsRead,
    int Inserted,
    int Updated,
    int Skipped,
    int Failed,
    int CompaniesCreated,
    IReadOnlyList<ImportRowError> Errors,
    string? FailureReason,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    long? DurationMs,
    Guid? CreatedBy)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static ImportDto From(Import import) => new(
        import.Id,
        import.Kind,
        import.Status,
        import.OnDuplicate,
        import.FileName,
        import.SizeBytes,
        import.RowsRead,
        import.Inserted,
        import.Updated,
        import.Skipped,
        import.Failed,
        import.CompaniesCreated,
        JsonSerializer.Deserialize<List<ImportRowError>>(import.Errors, Json) ?? [],
        import.FailureReason,
        import.CreatedAt,
        import.StartedAt,
        import.FinishedAt,
        import is { StartedAt: { } started, FinishedAt: { } finished } ? (long)(finished - started).TotalMilliseconds : null,
        import.CreatedBy);
}

public sealed class GetImportHandler(ITenantDbContext db) : IQueryHandler<GetImport, Result<ImportDto>>
{
    public async ValueTask<Result<ImportDto>> Handle(GetImport query, CancellationToken cancellationToken)
    {
        var import = await db.Imports.AsNoTracking().FirstOrDefaultAsync(i => i.Id == query.Id && i.DeletedAt == null, cancellationToken);
        return import is null ? ImportErrors.NotFound(query.Id) : ImportDto.From(import);
    }
}
