using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Imports;
using CleanCrm.Application.Imports.Commands.StartContactImport;
using CleanCrm.Application.Imports.Queries.GetImport;
using CleanCrm.Infrastructure.Imports;
using Mediator;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace CleanCrm.Api.Endpoints;

public static class ImportsEndpoints
{
    public static IEndpointRouteBuilder MapImports(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<ImportOptions>>().Value;
        var group = app.MapGroup("/api/v1/imports").WithTags("Imports").RequireAuthorization().RequireOrg().WithCrmProblems();

        // The one endpoint exempt from the global body limit (CleanCrm:Api:MaxRequestBodyBytes): the CSV may be as large as
        // CleanCrm:Imports:MaxUploadBytes, plus one chunk of slack for multipart framing. It is streamed, never buffered.
        group.MapPost("/contacts", async (HttpRequest request, string? onDuplicate, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new StartContactImport(new HttpImportUpload(request), onDuplicate), ct);
                return result.IsSuccess
                    ? TypedResults.Accepted($"/api/v1/imports/{result.Value.ImportId}", result.Value)
                    : Problems.Result(result.Error!);
            })
            .WithName("Imports_StartContactImport")
            .WithSummary("Import contacts from CSV")
            .WithDescription("Uploads a CSV of contacts (text/csv body or the first file of multipart/form-data) and answers 202; "
                + "follow the import with Imports_Get.")
            .WithMetadata(new ImportUploadSizeLimit(options.MaxUploadBytes + ImportOptions.UploadChunkBytes))
            .Accepts<string>("text/csv", "multipart/form-data")
            .Produces<ImportAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetImport(id), ct)))
            .WithName("Imports_Get")
            .WithSummary("Get an import")
            .WithDescription("Returns an import's status, counts and row errors.")
            .Produces<ImportDto>();

        return app;
    }

    /// <summary>Raises the request-body limit for one endpoint; <see cref="RequestSizeLimitMiddleware"/> applies it.</summary>
    public sealed class ImportUploadSizeLimit(long maxRequestBodySize) : IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize { get; } = maxRequestBodySize;
    }

    /// <summary>The CSV of an import request: the body itself (<c>text/csv</c>) or the first file part of a multipart form.</summary>
    private sealed class HttpImportUpload(HttpRequest request) : IImportUpload
    {
        private static readonly string[] CsvTypes = ["text/csv", "application/csv", "text/plain"];

        private readonly MediaTypeHeaderValue? _contentType = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed)
            ? parsed
            : null;

        public string? MediaType => _contentType?.MediaType.Value ?? request.ContentType;

        private bool IsMultipart => string.Equals(_contentType?.MediaType.Value, "multipart/form-data", StringComparison.OrdinalIgnoreCase);

        public bool IsSupported =>
            _contentType is { } type
            && (CsvTypes.Contains(type.MediaType.Value, StringComparer.OrdinalIgnoreCase)
                || (IsMultipart && HeaderUtilities.RemoveQuotes(type.Boundary).Length > 0))
            && (type.Charset.Value is null || string.Equals(type.Charset.Value, "utf-8", StringComparison.OrdinalIgnoreCase));

        public async Task<ImportUploadContent?> OpenAsync(CancellationToken cancellationToken)
        {
            if (!IsMultipart)
            {
                return new ImportUploadContent(request.Body, null);
            }

            var boundary = HeaderUtilities.RemoveQuotes(_contentType!.Boundary).Value!;
            var reader = new MultipartReader(boundary, request.Body);
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    && disposition.IsFileDisposition())
                {
                    var name = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue
                        ? disposition.FileNameStar
                        : disposition.FileName).Value;
                    return new ImportUploadContent(section.Body, name is null ? null : Path.GetFileName(name));
                }
            }

            return null;
        }
    }
}
