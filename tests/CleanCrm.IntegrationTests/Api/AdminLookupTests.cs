using System.Net;
using System.Net.Http.Headers;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Api;

/// <summary>Ids in admin URLs that cannot name anything are a 404 problem, like any unknown id (docs/API.md).</summary>
[Collection(PlatformCollection.Name)]
public sealed class AdminLookupTests(SharedPlatform platform) : IDisposable
{
    private readonly ApiFactory _api = new(platform);

    [Theory]
    [InlineData("not-a-number")]
    [InlineData("99999999999999999999999")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("%20")]
    public async Task A_fleet_migration_id_that_cannot_be_a_job_is_not_found(string jobId)
    {
        var admin = _api.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={Guid.NewGuid()};admin");
        var problem = await Problem.ReadAsync(await admin.GetAsync($"/api/v1/admin/migrations/{jobId}"), HttpStatusCode.NotFound);
        problem.Detail.ShouldContain("Fleet migration");
    }

    public void Dispose() => _api.Dispose();
}
