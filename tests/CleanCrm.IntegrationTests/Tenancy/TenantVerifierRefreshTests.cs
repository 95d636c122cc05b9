using CleanCrm.Application.Common.Secrets;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CleanCrm.IntegrationTests.Tenancy;

/// <summary>The path of existing tenant roles to the cheaper SCRAM verifier (ADR 0016, worker verb tenants refresh-verifiers).</summary>
[Collection(PlatformCollection.Name)]
public sealed class TenantVerifierRefreshTests(SharedPlatform platform)
{
    [Fact]
    public async Task Refresh_rewrites_the_verifier_from_the_stored_password_with_the_current_iteration_count()
    {
        var organization = await platform.CreateOrganizationAsync(serverId: platform.PrimaryServer.Id);
        var password = await platform.Services.GetRequiredService<ISecretStore>()
            .GetAsync(SecretName.ForTenantDatabase(organization.Id), CancellationToken.None);
        password.ShouldNotBeNull();
        // An old-style role: the server hashes a plain password with its default 4096 iterations (and the stored
        // password no longer matches, so only the refresh can make the tenant's connections work again).
        await TestDatabaseServers.ExecuteAsync(TestDatabaseServers.Primary,
            $"SET password_encryption = 'scram-sha-256'; ALTER ROLE \"{organization.DatabaseRole}\" PASSWORD 'old-style-password'");
        (await VerifierAsync(organization.DatabaseRole)).ShouldStartWith("SCRAM-SHA-256$4096:");
        await Should.ThrowAsync<PostgresException>(() => OpenAsTenantAsync(organization.DatabaseRole, organization.DatabaseName, password));

        var refresh = ActivatorUtilities.CreateInstance<TenantVerifierRefresh>(platform.Services);
        var (refreshed, _) = await refresh.RefreshAsync(CancellationToken.None);

        refreshed.ShouldBeGreaterThanOrEqualTo(1);
        (await VerifierAsync(organization.DatabaseRole)).ShouldStartWith($"SCRAM-SHA-256${ScramVerifier.Iterations}:");
        await OpenAsTenantAsync(organization.DatabaseRole, organization.DatabaseName, password);
    }

    private static async Task<string> VerifierAsync(string role) =>
        (await TestDatabaseServers.ScalarAsync<string>(TestDatabaseServers.Primary, "postgres",
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role))!;

    private static async Task OpenAsTenantAsync(string role, string database, string password)
    {
        var builder = new NpgsqlConnectionStringBuilder(TestDatabaseServers.Primary.ConnectionString)
        {
            Username = role,
            Password = password,
            Database = database,
            Pooling = false,
        };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
    }
}
