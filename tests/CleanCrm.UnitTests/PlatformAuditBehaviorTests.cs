using CleanCrm.Application.Backups;
using CleanCrm.Application.Backups.Commands.RestoreBackup;
using CleanCrm.Application.Backups.Queries.ListAdminBackups;
using CleanCrm.Application.Common.Behaviors;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Organizations;
using CleanCrm.Application.Organizations.Commands.SuspendOrganization;
using CleanCrm.Application.PlatformAudit;
using CleanCrm.Domain.Catalog;
using Microsoft.Extensions.Time.Testing;

namespace CleanCrm.UnitTests;

/// <summary>What the platform audit behavior records, and what it leaves alone (docs/SECURITY.md, "Platform audit log").</summary>
public sealed class PlatformAuditBehaviorTests
{
    private static readonly Guid AdminId = Guid.NewGuid();
    private readonly RecordingWriter _writer = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData("SuspendOrganization", "organization.suspend")]
    [InlineData("SetFeatureOverride", "feature_override.set")]
    [InlineData("ChangeOrganizationPlan", "organization_plan.change")]
    [InlineData("StartSupportSession", "support_session.start")]
    [InlineData("RetryProvisioning", "provisioning.retry")]
    [InlineData("Ping", "ping")]
    public void The_action_is_the_subject_then_the_verb_of_the_command_name(string typeName, string action) =>
        PlatformAuditMetadata<object>.ActionOf(typeName).ShouldBe(action);

    [Fact]
    public async Task An_admin_command_that_succeeds_is_recorded_with_its_organization_reason_and_origin()
    {
        var organizationId = Guid.NewGuid();
        var behavior = Behavior<SuspendOrganization, Result<AdminOrganizationDto>>(Admin());

        await behavior.Handle(new SuspendOrganization(organizationId, "  Fraud review  "),
            (_, _) => ValueTask.FromResult(Result<AdminOrganizationDto>.Success(null!)), CancellationToken.None);

        var entry = _writer.Entries.ShouldHaveSingleItem();
        entry.Action.ShouldBe("organization.suspend");
        entry.OrganizationId.ShouldBe(organizationId);
        entry.Reason.ShouldBe("Fraud review");
        entry.ActorUserId.ShouldBe(AdminId);
        entry.Channel.ShouldBe("console");
        entry.IpAddress.ShouldBe("192.0.2.10");
        entry.Outcome.ShouldBe(PlatformAuditEntry.Succeeded);
        entry.Error.ShouldBeNull();
        entry.OccurredAt.ShouldBe(_clock.GetUtcNow());
    }

    [Fact]
    public async Task A_failed_command_is_recorded_with_its_problem_code()
    {
        var behavior = Behavior<SuspendOrganization, Result<AdminOrganizationDto>>(Admin());

        var result = await behavior.Handle(new SuspendOrganization(Guid.NewGuid()),
            (_, _) => ValueTask.FromResult(Result<AdminOrganizationDto>.Failure(Error.Conflict("conflict", "no"))), CancellationToken.None);

        result.IsSuccess.ShouldBeFalse();
        var entry = _writer.Entries.ShouldHaveSingleItem();
        entry.Outcome.ShouldBe(PlatformAuditEntry.Failed);
        entry.Error.ShouldBe("conflict");
    }

    [Fact]
    public async Task An_exception_is_recorded_and_still_thrown()
    {
        var behavior = Behavior<SuspendOrganization, Result<AdminOrganizationDto>>(Admin());

        await Should.ThrowAsync<InvalidOperationException>(async () => await behavior.Handle(new SuspendOrganization(Guid.NewGuid()),
            (_, _) => throw new InvalidOperationException("database gone"), CancellationToken.None));

        _writer.Entries.ShouldHaveSingleItem().Error.ShouldBe("unexpected_error");
    }

    [Fact]
    public async Task The_organization_of_a_restore_comes_from_its_result()
    {
        var organizationId = Guid.NewGuid();
        var backupId = Guid.NewGuid();
        var restore = new RestoreDto(Guid.NewGuid(), backupId, organizationId, RestoreMode.SideBySide, RestoreStatus.Queued, Guid.NewGuid(),
            "db", null, null, _clock.GetUtcNow(), null, null, null, null);
        var behavior = Behavior<RestoreBackup, Result<RestoreDto>>(Admin());

        await behavior.Handle(new RestoreBackup(backupId, new RestoreBackupFields()),
            (_, _) => ValueTask.FromResult(Result<RestoreDto>.Success(restore)), CancellationToken.None);

        var entry = _writer.Entries.ShouldHaveSingleItem();
        entry.Action.ShouldBe("backup.restore");
        entry.OrganizationId.ShouldBe(organizationId);
        entry.TargetId.ShouldBe(backupId);
    }

    [Fact]
    public async Task Non_admin_callers_and_queries_are_not_recorded()
    {
        var refused = Result<AdminOrganizationDto>.Failure(Error.Forbidden("forbidden", "no"));
        await Behavior<SuspendOrganization, Result<AdminOrganizationDto>>(new Caller(Guid.NewGuid(), false, false))
            .Handle(new SuspendOrganization(Guid.NewGuid()), (_, _) => ValueTask.FromResult(refused), CancellationToken.None);
        await Behavior<ListAdminBackups, Result<Page<AdminBackupDto>>>(Admin())
            .Handle(new ListAdminBackups(), (_, _) => ValueTask.FromResult(Result<Page<AdminBackupDto>>.Success(new([], null))),
                CancellationToken.None);

        _writer.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task The_system_caller_is_recorded_without_an_actor()
    {
        await Behavior<SuspendOrganization, Result<AdminOrganizationDto>>(new Caller(null, false, true))
            .Handle(new SuspendOrganization(Guid.NewGuid()), (_, _) => ValueTask.FromResult(Result<AdminOrganizationDto>.Success(null!)),
                CancellationToken.None);

        _writer.Entries.ShouldHaveSingleItem().ActorUserId.ShouldBeNull();
    }

    private static Caller Admin() => new(AdminId, true, false);

    private PlatformAuditBehavior<TMessage, TResponse> Behavior<TMessage, TResponse>(ICallerContext caller)
        where TMessage : notnull, Mediator.IMessage =>
        new(caller, new FixedRequestOrigin(FixedRequestOrigin.Console, "192.0.2.10", "test"), _writer, _clock);

    private sealed record Caller(Guid? UserId, bool IsPlatformAdmin, bool IsSystem) : ICallerContext
    {
        public OrgRole? Role => null;
    }

    private sealed class RecordingWriter : IPlatformAuditWriter
    {
        public List<PlatformAuditEntry> Entries { get; } = [];

        public Task AppendAsync(PlatformAuditEntry entry, CancellationToken cancellationToken)
        {
            Entries.Add(entry);
            return Task.CompletedTask;
        }
    }
}
