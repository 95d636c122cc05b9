using System.Net.Http.Headers;
using CleanCrm.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Support;

/// <summary>The real API host (Testing environment) on a private platform environment; <c>services</c> replaces registrations.</summary>
public sealed class ApiFactory(
    PlatformEnvironment platform,
    IDictionary<string, string?>? overrides = null,
    Action<IServiceCollection>? services = null) : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in platform.Settings.Concat(overrides ?? new Dictionary<string, string?>()))
        {
            builder.UseSetting(key, value);
        }

        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }

    /// <summary>A client authenticated as the user through the Development/Testing "Dev" scheme, optionally naming an org.</summary>
    public HttpClient ClientFor(Guid userId, string? org = null, Guid? orgClaim = null, string? role = null)
    {
        var client = CreateClient();
        var credential = $"user={userId}" + (orgClaim is { } claim ? $";org={claim}" : string.Empty)
            + (role is not null ? $";role={role}" : string.Empty);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Dev", credential);
        if (org is not null)
        {
            client.DefaultRequestHeaders.Add("X-Org", org);
        }

        return client;
    }
}
