using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Imports;

/// <summary>The uploaded file as the HTTP layer received it; opened only after the request was authorized.</summary>
public interface IImportUpload
{
    /// <summary>The media type the client declared (e.g. <c>text/csv</c>), for messages.</summary>
    string? MediaType { get; }

    /// <summary>True for <c>text/csv</c> (also <c>application/csv</c>, <c>text/plain</c>) and <c>multipart/form-data</c>.</summary>
    bool IsSupported { get; }

    /// <summary>Opens the CSV bytes (for multipart, the first file part); null when the body holds no file.</summary>
    Task<ImportUploadContent?> OpenAsync(CancellationToken cancellationToken);
}

public sealed record ImportUploadContent(Stream Content, string? FileName);

/// <summary>Stores an import row and streams its upload into the tenant database, in one transaction.</summary>
public interface IImportUploadStore
{
    /// <summary>Saves <paramref name="import"/> and the upload; fails (and stores nothing) past the size limit or when empty.</summary>
    Task<Result<long>> SaveAsync(Import import, Stream content, CancellationToken cancellationToken);

    /// <summary>Marks a stored import failed with <paramref name="reason"/> and drops its upload (it will never run).</summary>
    Task AbandonAsync(Guid importId, string reason, CancellationToken cancellationToken);
}

/// <summary>Hands a stored import to the worker.</summary>
public interface IImportQueue
{
    /// <summary>False when the job could not be queued (job storage unreachable); the import will not run by itself.</summary>
    Task<bool> EnqueueAsync(Guid organizationId, Guid importId, CancellationToken cancellationToken);
}

public static class ImportErrors
{
    public static Error NotFound(Guid id) => Error.NotFound("Import", id);

    public static Error UnsupportedMediaType(string? mediaType) =>
        new(ErrorType.UnsupportedMediaType, "unsupported_media_type",
            $"An import is a CSV file sent as text/csv (or a multipart/form-data upload with a file part); got " +
                $"'{mediaType ?? "no Content-Type"}'.");

    public static Error NoFile() =>
        Error.Validation("file", "The request holds no CSV file: send it as the text/csv body or as a multipart file part.");

    public static Error Empty() => Error.Validation("file", "The CSV file is empty; it needs a header row and at least one data row.");

    public static Error TooLarge(long limit) =>
        new(ErrorType.PayloadTooLarge, "payload_too_large", $"The CSV file is larger than the import limit of {limit} bytes.");
}

/// <summary>The limits of an import (documented in docs/IMPORTS.md).</summary>
public static class ImportLimits
{
    public const int MaxDataRows = 1_048_576;

    public const int StoredRowErrors = 100;

    public const int MaxFieldLength = 32_768;
}
