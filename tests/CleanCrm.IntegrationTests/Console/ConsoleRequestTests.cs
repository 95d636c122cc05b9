using CleanCrm.Application.Backups.Commands.VerifyAdminBackup;
using CleanCrm.Application.Backups.Commands.VerifyBackup;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Me.Queries.GetPlatformAdminStatus;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Hangfire;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Console;

/// <summary>The Application requests the console added: the admin re-check and the platform admins' backup verification.</summary>
[Collection(PlatformCollection.Name)]
public sealed class ConsoleRequestTests(SharedPlatform platform)
{
    [Fact]
    public async Task The_admin_recheck_follows_the_catalog_flag()
    {
        var admin = await platform.CreateUserAsync(platformAdmin: true);

        (await SendAsync(new Caller(admin.Id, true), new GetPlatformAdminStatus())).Value
            .ShouldBe(new PlatformAdminStatusDto(admin.Id, true, true));

        await using (var db = await platform.CatalogAsync())
        {
            await db.Users.Where(u => u.Id == admin.Id).ExecuteUpdateAsync(u => u.SetProperty(x => x.IsPlatformAdmin, false));
        }

        (await SendAsync(new Caller(admin.Id, true), new GetPlatformAdminStatus())).Value.IsPlatformAdmin
            .ShouldBeFalse("the session's claim is stale; the catalog decides");
        var unknown = Guid.NewGuid();
        (await SendAsync(new Caller(unknown, true), new GetPlatformAdminStatus())).Value
            .ShouldBe(new PlatformAdminStatusDto(unknown, false, false));
        (await SendAsync(new Caller(null, false), new GetPlatformAdminStatus())).Error!.Type.ShouldBe(ErrorType.Forbidden);
    }

    [Fact]
    public async Task Verifying_a_backup_is_for_platform_admins_and_refuses_unknown_or_unfinished_backups()
    {
        var member = await platform.CreateUserAsync();
        var refused = await SendAsync(new Caller(member.Id, false), new VerifyAdminBackup(Guid.NewGuid()));
        refused.Error!.Type.ShouldBe(ErrorType.Forbidden);

        var admin = new Caller((await platform.CreateUserAsync(platformAdmin: true)).Id, true);
        var missing = await SendAsync(admin, new VerifyAdminBackup(Guid.NewGuid()));
        missing.Error!.Type.ShouldBe(ErrorType.NotFound);

        var organization = await platform.CreateOrganizationAsync(provision: false);
        var queued = new Backup
        {
            OrganizationId = organization.Id,
            Status = BackupStatus.Queued,
            Trigger = BackupTrigger.Manual,
            DatabaseName = "not_yet",
            Store = "FileSystem",
            QueuedAt = DateTimeOffset.UtcNow,
        };
        await using (var db = await platform.CatalogAsync())
        {
            db.Backups.Add(queued);
            await db.SaveChangesAsync();
        }

        var unfinished = await SendAsync(admin, new VerifyAdminBackup(queued.Id));
        unfinished.Error!.Type.ShouldBe(ErrorType.Conflict);
        unfinished.Error.Detail.ShouldContain("only a succeeded backup can be verified");
        await using (var db = await platform.CatalogAsync())
        {
            (await db.BackupAccessLog.CountAsync(a => a.BackupId == queued.Id)).ShouldBe(0, "a refused verification leaves no trace");
        }
    }

    private async Task<T> SendAsync<T>(Caller caller, IMessage request)
    {
        // As in the console host: a Hangfire client on the catalog (backup handlers can enqueue work). It is borrowed from
        // the shared API host: AddHangfire in a short-lived provider would point Hangfire's process-wide log provider at
        // a logger factory disposed with it, and every later enqueue in this test process would fail.
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var jobs = api.Services.GetRequiredService<IBackgroundJobClient>();
        await using var services = PlatformEnvironment.BuildServices(platform.Settings, s =>
        {
            s.AddSingleton<ICallerContext>(caller);
            s.AddSingleton(jobs);
        });
        await using var scope = services.CreateAsyncScope();
        return (T)(await scope.ServiceProvider.GetRequiredService<ISender>().Send((object)request))!;
    }

    private Task<Result<PlatformAdminStatusDto>> SendAsync(Caller caller, GetPlatformAdminStatus query) =>
        SendAsync<Result<PlatformAdminStatusDto>>(caller, query);

    private Task<Result<BackupVerificationDto>> SendAsync(Caller caller, VerifyAdminBackup command) =>
        SendAsync<Result<BackupVerificationDto>>(caller, command);

    private sealed record Caller(Guid? UserId, bool IsPlatformAdmin) : ICallerContext
    {
        public OrgRole? Role => null;

        public bool IsSystem => false;
    }
}
