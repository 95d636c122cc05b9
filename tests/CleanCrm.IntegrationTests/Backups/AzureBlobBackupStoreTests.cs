using System.Security.Cryptography;
using Azure.Storage.Blobs;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Backups;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;
using static CleanCrm.IntegrationTests.Backups.BackupTestSupport;

namespace CleanCrm.IntegrationTests.Backups;

/// <summary>The Azure Blob backup store against the real emulator (Azurite): backup, checksum, restore, corruption.</summary>
[Collection(PlatformCollection.Name)]
public sealed class AzureBlobBackupStoreTests(SharedPlatform platform, AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Backs_up_into_blob_storage_restores_from_it_and_refuses_a_changed_blob()
    {
        var container = "cct-" + Guid.NewGuid().ToString("N")[..12];
        var settings = new Dictionary<string, string?>(platform.Settings)
        {
            ["CleanCrm:Backups:Store"] = "AzureBlob",
            ["CleanCrm:Backups:AzureBlob:ConnectionString"] = azurite.ConnectionString,
            ["CleanCrm:Backups:AzureBlob:Container"] = container,
        };
        await using var services = PlatformEnvironment.BuildServices(settings);
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var owner = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)], serverId: platform.PrimaryServer.Id);
        var client = api.ClientFor(owner.Id, organization.Slug);
        await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Blobby" });
        await OrgScopedEndpoints.CreateAsync(client, "companies", new { name = "Cloudy" });

        var runner = services.GetRequiredService<TenantBackupRunner>();
        var backup = await runner.BackupNowAsync(organization.Id, BackupTrigger.Manual, CancellationToken.None);
        backup.Status.ShouldBe(BackupStatus.Succeeded, backup.Error);
        backup.Store.ShouldBe(AzureBlobBackupStore.KindName);

        var blob = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(container).GetBlobClient(backup.Location);
        (await blob.GetPropertiesAsync()).Value.ContentLength.ShouldBe(backup.SizeBytes!.Value);
        var content = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        Convert.ToHexStringLower(SHA256.HashData(content)).ShouldBe(backup.Sha256);

        var restorer = services.GetRequiredService<TenantRestorer>();
        var restore = await QueueRestoreAsync(backup);
        (await restorer.RunAsync(restore, CancellationToken.None)).Status.ShouldBe(RestoreStatus.Verified);
        (await CompanyNamesAsync(BackupRestore.ScratchDatabaseName(restore))).ShouldBe(["Blobby", "Cloudy"]);
        await restorer.DropAsync(platform.PrimaryServer, BackupRestore.ScratchDatabaseName(restore), CancellationToken.None);

        content[^10] ^= 0x01;
        await blob.UploadAsync(new BinaryData(content), overwrite: true);
        var refused = await restorer.RunAsync(await QueueRestoreAsync(backup), CancellationToken.None);
        refused.Status.ShouldBe(RestoreStatus.Failed);
        refused.Error!.ShouldContain("checksum mismatch");

        var store = services.GetRequiredService<IBackupStore>();
        await store.DeleteAsync(backup.Location!, CancellationToken.None);
        (await store.OpenReadAsync(backup.Location!, CancellationToken.None)).ShouldBeNull();
    }

    private async Task<Guid> QueueRestoreAsync(Backup backup)
    {
        await using var db = await platform.CatalogAsync();
        var restore = new BackupRestore
        {
            BackupId = backup.Id,
            OrganizationId = backup.OrganizationId,
            TargetServerId = platform.PrimaryServer.Id,
            Mode = RestoreMode.SideBySide,
            RequestedAt = DateTimeOffset.UtcNow
        };
        restore.DatabaseName = BackupRestore.ScratchDatabaseName(restore.Id);
        db.BackupRestores.Add(restore);
        await db.SaveChangesAsync();
        return restore.Id;
    }
}
