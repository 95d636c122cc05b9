namespace CleanCrm.Application.Integrations;

/// <summary>The domain events the organization posts to its Slack channel (docs/WORKFLOWS.md, "Slack notifications").</summary>
public sealed record SlackSettingsDto(IReadOnlyList<string> Events, IReadOnlyList<string> Supported);

public sealed record SlackSettingsFields(IReadOnlyList<string>? Events);
