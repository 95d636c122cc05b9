using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Integrations.Commands.UpdateFathomSettings;

/// <summary>Records the organization's own choice for the Fathom sync; from then on the platform default no longer applies.</summary>
[RequiresPermission(Permission.IntegrationsManage)]
public sealed record UpdateFathomSettings(FathomSettingsFields Fields) : ICommand<Result<FathomSettingsDto>>, IOrgScopedRequest;

public sealed class UpdateFathomSettingsValidator : AbstractValidator<UpdateFathomSettings>
{
    public UpdateFathomSettingsValidator()
    {
        RuleFor(x => x.Fields.CreateContacts).NotNull().WithMessage("is required (true or false).").OverridePropertyName("createContacts");
    }
}

public sealed class UpdateFathomSettingsHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<UpdateFathomSettings, Result<FathomSettingsDto>>
{
    public async ValueTask<Result<FathomSettingsDto>> Handle(UpdateFathomSettings command, CancellationToken cancellationToken)
    {
        var settings = await db.FathomSettings.FirstOrDefaultAsync(cancellationToken);
        if (settings is null)
        {
            settings = new FathomSettings();
            db.FathomSettings.Add(settings);
        }

        settings.CreateContacts = command.Fields.CreateContacts!.Value;
        settings.UpdatedAt = clock.GetUtcNow();
        settings.UpdatedBy = caller.UserId;
        await db.SaveChangesAsync(cancellationToken);
        return new FathomSettingsDto(settings.CreateContacts, IsDefault: false);
    }
}
