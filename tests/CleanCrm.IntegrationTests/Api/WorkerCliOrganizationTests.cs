using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Api;

[Collection(PlatformCollection.Name)]
public sealed class WorkerCliOrganizationTests(SharedPlatform platform)
{
    [Fact]
    public async Task Operators_provision_suspend_and_resume_organizations_from_the_cli()
    {
        var organization = await platform.CreateOrganizationAsync(provision: false, serverId: platform.PrimaryServer.Id);
        var environment = platform.Settings.Where(s => s.Value is not null)
            .ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!);
        environment["DOTNET_ENVIRONMENT"] = "Production";

        var (provisionExit, provisioned) = await WorkerCliTests.RunAsync(["provision", organization.Slug], environment);
        provisionExit.ShouldBe(0, provisioned);
        provisioned.ShouldContain("succeeded");
        (await StatusAsync(organization.Id)).ShouldBe("active");

        (await WorkerCliTests.RunAsync(["suspend", organization.Id.ToString()], environment)).Exit.ShouldBe(0);
        (await StatusAsync(organization.Id)).ShouldBe("suspended");
        var (again, message) = await WorkerCliTests.RunAsync(["suspend", organization.Slug], environment);
        again.ShouldBe(1);
        message.ShouldContain("only active organizations");
        (await WorkerCliTests.RunAsync(["resume", organization.Slug], environment)).Exit.ShouldBe(0);
        (await StatusAsync(organization.Id)).ShouldBe(nameof(OrganizationStatus.Active).ToLowerInvariant());
    }

    private Task<string?> StatusAsync(Guid organizationId) =>
        TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, platform.CatalogDatabase,
            "SELECT status FROM organizations WHERE id = $1", organizationId);
}
