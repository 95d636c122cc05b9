namespace CleanCrm.Domain.Catalog;

/// <summary>A commercial plan with its limits (docs/BILLING.md). <c>null</c> limits mean unlimited.</summary>
public sealed class Plan
{
    public const string Free = "free";
    public const string Pro = "pro";
    public const string Enterprise = "enterprise";

    public required string Key { get; set; }

    public required string Name { get; set; }

    public int? Seats { get; set; }

    public long? AiTokensPerMonth { get; set; }

    public int ApiRequestsPer10Seconds { get; set; }

    public int BackupRetentionDays { get; set; }

    public List<PlanFeature> Features { get; set; } = [];
}

/// <summary>Whether a premium feature is included in a plan.</summary>
public sealed class PlanFeature
{
    public required string PlanKey { get; set; }

    public required string FeatureKey { get; set; }

    public bool Enabled { get; set; }
}

public static class PremiumFeatures
{
    public const string CalendarSync = "calendar_sync";
    public const string Workflows = "workflows";
    public const string Proposals = "proposals";
    public const string SmartTasks = "smart_tasks";
    public const string AiCopilot = "ai_copilot";
    public const string SlackIntegration = "slack_integration";
    public const string AdvancedReporting = "advanced_reporting";
    public const string RevenueSplitting = "revenue_splitting";

    public static readonly IReadOnlyList<string> All =
    [
        CalendarSync, Workflows, Proposals, SmartTasks, AiCopilot, SlackIntegration, AdvancedReporting, RevenueSplitting,
    ];
}
