using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Imports.Commands.StartContactImport;

/// <summary>Accepts a contacts CSV: stores it, records a queued import and hands it to the worker (docs/IMPORTS.md).</summary>
[RequiresPermission(Permission.CrmWrite)]
public sealed record StartContactImport(IImportUpload Upload, string? OnDuplicate) : ICommand<Result<ImportAccepted>>, IOrgScopedRequest;

public sealed record ImportAccepted(Guid ImportId);

public sealed class StartContactImportValidator : AbstractValidator<StartContactImport>
{
    public StartContactImportValidator() =>
        RuleFor(x => x.OnDuplicate)
            .Must(value => value is null || DuplicatePolicies.TryParse(value, out _))
            .WithMessage(
                "must be 'skip' (keep existing contacts, the default) or 'update' (overwrite them with the file's non-empty values).");
}

public sealed class StartContactImportHandler(
    IImportUploadStore store,
    IImportQueue queue,
    ITenantContext tenant,
    ICallerContext caller,
    TimeProvider clock) : ICommandHandler<StartContactImport, Result<ImportAccepted>>
{
    public async ValueTask<Result<ImportAccepted>> Handle(StartContactImport command, CancellationToken cancellationToken)
    {
        if (!command.Upload.IsSupported)
        {
            return ImportErrors.UnsupportedMediaType(command.Upload.MediaType);
        }

        if (await command.Upload.OpenAsync(cancellationToken) is not { } upload)
        {
            return ImportErrors.NoFile();
        }

        DuplicatePolicies.TryParse(command.OnDuplicate, out var policy);
        var now = clock.GetUtcNow();
        var import = new Import
        {
            Kind = Import.ContactsKind,
            Status = ImportStatus.Queued,
            OnDuplicate = policy,
            FileName = upload.FileName is { Length: > 0 } name ? name[..Math.Min(name.Length, 255)] : null,
            CreatedAt = now,
            UpdatedAt = now,
            CreatedBy = caller.UserId,
            UpdatedBy = caller.UserId,
        };
        var saved = await store.SaveAsync(import, upload.Content, cancellationToken);
        if (!saved.IsSuccess)
        {
            return saved.Error!;
        }

        if (!await queue.EnqueueAsync(tenant.Current!.OrganizationId, import.Id, CancellationToken.None))
        {
            // Never leave an import that nothing will run: record why and tell the caller to send the file again.
            await store.AbandonAsync(
                import.Id,
                "The import could not be handed to the import worker; nothing was imported. Upload the file again.",
                CancellationToken.None);
            return new Error(
                ErrorType.Unavailable,
                "import_not_queued",
                "The file was received but the import could not be queued (the job store is unavailable); nothing was imported. "
                + "Upload it again in a moment.");
        }

        return new ImportAccepted(import.Id);
    }
}

public static class DuplicatePolicies
{
    public static bool TryParse(string? value, out DuplicatePolicy policy)
    {
        policy = DuplicatePolicy.Skip;
        switch (value)
        {
            case null or "skip":
                return true;
            case "update":
                policy = DuplicatePolicy.Update;
                return true;
            default:
                return false;
        }
    }
}
