using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Billing.Commands.SetLimitOverrides;

/// <summary>Per-org limits replacing the plan's; a missing or null field keeps the plan's value.</summary>
public sealed record LimitOverrideFields
{
    public int? Seats { get; init; }

    public long? AiTokensPerMonth { get; init; }

    public int? ApiRequestsPer10Seconds { get; init; }

    public int? BackupRetentionDays { get; init; }
}

[RequiresPlatformAdmin]
public sealed record SetLimitOverrides(Guid OrganizationId, LimitOverrideFields Fields)
    : IOrganizationBillingChange, IPlatformAuditedRequest
{
    Guid? IPlatformAuditedRequest.AuditOrganizationId => OrganizationId;

    string? IPlatformAuditedRequest.AuditReason => null;
}

public sealed class SetLimitOverridesValidator : AbstractValidator<SetLimitOverrides>
{
    public SetLimitOverridesValidator()
    {
        RuleFor(x => x.Fields.Seats).GreaterThanOrEqualTo(0).WithMessage("must be 0 or more.").OverridePropertyName("seats");
        RuleFor(x => x.Fields.AiTokensPerMonth).GreaterThanOrEqualTo(0).WithMessage("must be 0 or more.")
            .OverridePropertyName("aiTokensPerMonth");
        RuleFor(x => x.Fields.ApiRequestsPer10Seconds).InclusiveBetween(1, 100_000).WithMessage("must be between 1 and 100000.")
            .OverridePropertyName("apiRequestsPer10Seconds");
        RuleFor(x => x.Fields.BackupRetentionDays).InclusiveBetween(1, 3650).WithMessage("must be between 1 and 3650.")
            .OverridePropertyName("backupRetentionDays");
    }
}

public sealed class SetLimitOverridesHandler(ICatalogDbContext db, IBillingProfiles profiles, TimeProvider clock)
    : OrganizationBillingChangeHandler<SetLimitOverrides>(db, profiles, clock)
{
    protected override async Task ChangeAsync(
        Organization organization, SetLimitOverrides command, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var fields = command.Fields;
        var row = await Db.LimitOverrides.FirstOrDefaultAsync(l => l.OrganizationId == organization.Id, cancellationToken);
        if (fields is { Seats: null, AiTokensPerMonth: null, ApiRequestsPer10Seconds: null, BackupRetentionDays: null })
        {
            if (row is not null)
            {
                Db.LimitOverrides.Remove(row);
            }

            return;
        }

        if (row is null)
        {
            row = new LimitOverride { OrganizationId = organization.Id };
            Db.LimitOverrides.Add(row);
        }

        row.Seats = fields.Seats;
        row.AiTokensPerMonth = fields.AiTokensPerMonth;
        row.ApiRequestsPer10Seconds = fields.ApiRequestsPer10Seconds;
        row.BackupRetentionDays = fields.BackupRetentionDays;
        row.UpdatedAt = now;
    }
}
