using CleanCrm.IntegrationTests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Options;

namespace CleanCrm.IntegrationTests.Api;

/// <summary>Misconfiguration stops the host at start-up with a message that names the setting.</summary>
[Collection(PlatformCollection.Name)]
public sealed class StartupValidationTests(SharedPlatform platform)
{
    [Theory]
    [InlineData("ConnectionStrings:Catalog", "", "ConnectionStrings:Catalog is required")]
    [InlineData("ConnectionStrings:Catalog", "Host=127.0.0.1", "must name the catalog database")]
    [InlineData("CleanCrm:Tenancy:MaxOpenTenantConnections", "-1", "MaxOpenTenantConnections")]
    [InlineData("CleanCrm:Tenancy:PerTenantMaxPoolSize", "500", "PerTenantMaxPoolSize")]
    [InlineData("CleanCrm:Secrets:Provider", "Vault", "CleanCrm:Secrets:Provider must be Local or KeyVault")]
    [InlineData("CleanCrm:Api:MaxRequestBodyBytes", "1", "MaxRequestBodyBytes")]
    [InlineData("CleanCrm:Backups:Store", "Tape", "CleanCrm:Backups:Store must be FileSystem or AzureBlob")]
    [InlineData("CleanCrm:Backups:Store", "AzureBlob",
        "set CleanCrm:Backups:AzureBlob:ConnectionString or CleanCrm:Backups:AzureBlob:ServiceUri")]
    [InlineData("CleanCrm:Backups:MaxConcurrentBackups", "0", "MaxConcurrentBackups")]
    public void A_bad_setting_stops_start_up_naming_it(string key, string value, string expected)
    {
        using var api = new ApiFactory(platform, new Dictionary<string, string?> { [key] = value });
        var failure = Should.Throw<Exception>(() => api.CreateClient());
        Flatten(failure).ShouldContain(expected);
    }

    [Fact]
    public void Development_authentication_cannot_be_enabled_in_production()
    {
        using var api = new ProductionFactory(platform);
        var failure = Should.Throw<Exception>(() => api.CreateClient());
        Flatten(failure).ShouldContain("only allowed in Development and Testing");
    }

    private static string Flatten(Exception exception) =>
        exception is OptionsValidationException options ? string.Join(" | ", options.Failures) : exception.ToString();

    private sealed class ProductionFactory(SharedPlatform platform) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Production");
            foreach (var (key, value) in platform.Settings)
            {
                builder.UseSetting(key, value);
            }

            builder.UseSetting("CleanCrm:DevelopmentAuthentication:Enabled", "true");
        }
    }
}
