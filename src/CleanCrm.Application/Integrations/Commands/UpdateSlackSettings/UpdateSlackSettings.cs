using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Integrations.Commands.UpdateSlackSettings;

/// <summary>Replaces the organization's choice of Slack notifications (an empty list turns them off).</summary>
[RequiresPermission(Permission.IntegrationsManage)]
[RequiresFeature(PremiumFeatures.SlackIntegration)]
public sealed record UpdateSlackSettings(SlackSettingsFields Fields) : ICommand<Result<SlackSettingsDto>>, IOrgScopedRequest;

public sealed class UpdateSlackSettingsValidator : AbstractValidator<UpdateSlackSettings>
{
    public UpdateSlackSettingsValidator()
    {
        RuleFor(x => x.Fields.Events).NotNull().WithMessage("is required (an empty list turns notifications off).")
            .Must(events => events is null || events.Count <= 10).WithMessage("has too many entries.")
            .OverridePropertyName("events");
        RuleForEach(x => x.Fields.Events)
            .Must(name => name is not null && SlackNotificationSettings.Supported.Contains(name))
            .WithMessage((_, name) =>
                $"'{name}' is not an event Slack can be told about; supported: {string.Join(", ", SlackNotificationSettings.Supported)}.")
            .OverridePropertyName("events");
    }
}

public sealed class UpdateSlackSettingsHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<UpdateSlackSettings, Result<SlackSettingsDto>>
{
    public async ValueTask<Result<SlackSettingsDto>> Handle(UpdateSlackSettings command, CancellationToken cancellationToken)
    {
        var settings = await db.SlackNotificationSettings.FirstOrDefaultAsync(cancellationToken);
        if (settings is null)
        {
            settings = new SlackNotificationSettings();
            db.SlackNotificationSettings.Add(settings);
        }

        settings.Events = [.. command.Fields.Events!.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        settings.UpdatedAt = clock.GetUtcNow();
        settings.UpdatedBy = caller.UserId;
        await db.SaveChangesAsync(cancellationToken);
        return new SlackSettingsDto(settings.Events, SlackNotificationSettings.Supported);
    }
}
