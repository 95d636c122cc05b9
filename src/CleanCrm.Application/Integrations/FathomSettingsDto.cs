namespace CleanCrm.Application.Integrations;

/// <summary>
/// The organization's Fathom meeting-sync choices (docs/INTEGRATIONS.md, "Fathom"). <see cref="IsDefault"/>: the
/// organization has not chosen, and the platform default applies.
/// </summary>
public sealed record FathomSettingsDto(bool CreateContacts, bool IsDefault);

public sealed record FathomSettingsFields(bool? CreateContacts);

/// <summary>The platform's integration defaults, where an organization has not chosen (configuration, docs/INTEGRATIONS.md).</summary>
public interface IIntegrationDefaults
{
    /// <summary><c>CleanCrm:Integrations:Fathom:CreateContacts</c>.</summary>
    bool FathomCreatesContacts { get; }
}
