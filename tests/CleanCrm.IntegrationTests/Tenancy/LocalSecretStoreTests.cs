using CleanCrm.Application.Common.Secrets;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Tenancy;

[Collection(PlatformCollection.Name)]
public sealed class LocalSecretStoreTests(SharedPlatform platform)
{
    [Fact]
    public async Task Secrets_round_trip_are_encrypted_at_rest_and_readable_by_another_process_sharing_the_catalog()
    {
        var store = platform.Services.GetRequiredService<ISecretStore>();
        var name = "test-" + Guid.NewGuid().ToString("N");
        await store.SetAsync(name, "s3cr3t-value");
        await store.SetAsync(name, "s3cr3t-value-2");
        (await store.GetAsync(name)).ShouldBe("s3cr3t-value-2");

        var raw = await TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT protected_value FROM secrets WHERE name = $1", name);
        raw.ShouldNotBeNull();
        raw.ShouldNotContain("s3cr3t");

        // A second process (fresh provider, same catalog) decrypts with the keys persisted in the catalog.
        await using var other = PlatformEnvironment.BuildServices(platform.Settings);
        (await other.GetRequiredService<ISecretStore>().GetAsync(name)).ShouldBe("s3cr3t-value-2");

        await store.DeleteAsync(name);
        await store.DeleteAsync(name);
        (await store.GetAsync(name)).ShouldBeNull();
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("under_score")]
    public async Task Invalid_secret_names_are_refused(string name)
    {
        var store = platform.Services.GetRequiredService<ISecretStore>();
        await Should.ThrowAsync<ArgumentException>(() => store.SetAsync(name, "x"));
    }
}
