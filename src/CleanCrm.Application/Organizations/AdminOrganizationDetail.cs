using CleanCrm.Application.Billing;

namespace CleanCrm.Application.Organizations;

/// <summary>
/// One organization as the provisioning console shows it: the list item's fields plus its lifecycle dates, provisioning
/// runs (newest first), members, last backup, usage this billing period, and its features and limits (plan, override,
/// effective). <see cref="MemberCount"/> is the list's <c>members</c>; <see cref="Members"/> lists them.
/// </summary>
public sealed record AdminOrganizationDetail(
    Guid Id,
    string Slug,
    string Name,
    string Plan,
    string Status,
    Guid? ServerId,
    string? ServerName,
    string? DatabaseName,
    string? SchemaVersion,
    string SchemaHead,
    bool SchemaBehind,
    long? DatabaseSizeBytes,
    DateTimeOffset? DatabaseSizeMeasuredAt,
    int MemberCount,
    DateTimeOffset? LastBackupAt,
    DateTimeOffset CreatedAt,
    string? OwnerEmail,
    DateTimeOffset? ActivatedAt,
    DateTimeOffset? SuspendedAt,
    DateTimeOffset? DeletionScheduledAt,
    IReadOnlyList<AdminProvisioningRunDto> ProvisioningRuns,
    IReadOnlyList<AdminMemberDto> Members,
    AdminLastBackupDto? LastBackup,
    EntitlementUsage? Usage,
    IReadOnlyList<AdminFeatureDto> Features,
    IReadOnlyList<AdminLimitDto> Limits);

public sealed record AdminProvisioningRunDto(
    Guid Id,
    string Status,
    int Attempt,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<AdminProvisioningStepDto> Steps);

public sealed record AdminProvisioningStepDto(
    string Name, string Status, int Attempt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error);

/// <summary>A member of the organization; <c>role</c> is lowercase (owner, admin, member, readonly, auditor).</summary>
public sealed record AdminMemberDto(Guid UserId, string Email, string Name, string Role);

/// <summary>The organization's newest backup whatever its status (<c>queued</c>, <c>running</c>, <c>succeeded</c>...).</summary>
public sealed record AdminLastBackupDto(Guid Id, string Status, DateTimeOffset CreatedAt, long? SizeBytes);

/// <summary>A premium feature: in the plan, the admin override (null: none or expired) and the effective value.</summary>
public sealed record AdminFeatureDto(string Key, bool Plan, bool? Override, bool Effective, DateTimeOffset? OverrideExpiresAt);

/// <summary>A limit by its JSON name (<c>seats</c>, <c>aiTokensPerMonth</c>...); null values mean unlimited (or no override).</summary>
public sealed record AdminLimitDto(string Key, long? Plan, long? Override, long? Effective);
