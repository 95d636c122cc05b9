using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Backups;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Backups;

internal static class BackupTestSupport
{
    public static HttpClient AdminClient(ApiFactory api)
    {
        var admin = api.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", $"user={Guid.NewGuid()};admin");
        return admin;
    }

    /// <summary>Queues a backup through the admin endpoint and runs its job in the test; returns the finished backup's JSON.</summary>
    public static async Task<JsonElement> BackUpAsync(SharedPlatform platform, HttpClient admin, Guid organizationId)
    {
        var response = await admin.PostAsync($"/api/v1/admin/organizations/{organizationId}/backups", null);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var queued = await response.Content.ReadFromJsonAsync<JsonElement>();
        queued.GetProperty("status").GetString().ShouldBe("queued");
        var id = queued.GetProperty("id").GetGuid();
        response.Headers.Location!.ToString().ShouldBe($"/api/v1/admin/backups/{id}");
        var done = await platform.Services.GetRequiredService<TenantBackupRunner>().RunAsync(id, CancellationToken.None);
        done.Status.ShouldBe(BackupStatus.Succeeded, done.Error);
        return await admin.GetFromJsonAsync<JsonElement>($"/api/v1/admin/backups/{id}");
    }

    public static async Task<List<string>> CompanyNamesAsync(string database)
    {
        await using var connection =
            new Npgsql.NpgsqlConnection(TestDatabaseServers.ConnectionString(TestDatabaseServers.Primary, database));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT name FROM companies ORDER BY name", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var names = new List<string>();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    public static async Task<bool> DatabaseExistsAsync(string database) =>
        await TestDatabaseServers.ScalarAsync<long>(TestDatabaseServers.Primary, "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = $1", database) == 1;
}
