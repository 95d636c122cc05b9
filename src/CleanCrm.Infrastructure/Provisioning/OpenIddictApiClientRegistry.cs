using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using CleanCrm.Application.ApiClients;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>Org-bound confidential clients as OpenIddict applications; the org and role ride in the application's properties.</summary>
public sealed class OpenIddictApiClientRegistry(IServiceScopeFactory scopes) : IApiClientRegistry
{
    public const string OrganizationProperty = "org_id";
    public const string RoleProperty = "org_role";

    public async Task<CreatedApiClientDto> CreateAsync(Guid organizationId, string name, string role, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var clientId = "cc_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var secret = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = clientId,
            ClientSecret = secret,
            ClientType = ClientTypes.Confidential,
            DisplayName = name,
            Permissions = { Permissions.Endpoints.Token, Permissions.GrantTypes.ClientCredentials, Permissions.Prefixes.Scope + "api" },
        };
        descriptor.Properties[OrganizationProperty] = JsonSerializer.SerializeToElement(organizationId.ToString());
        descriptor.Properties[RoleProperty] = JsonSerializer.SerializeToElement(role);
        await applications.CreateAsync(descriptor, cancellationToken);
        return new CreatedApiClientDto(clientId, secret, name, role);
    }

    public async Task<IReadOnlyList<ApiClientDto>> ListAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        // One query narrowed in SQL by the org id inside the properties JSON, then checked exactly: never a scan of
        // every application with a round trip each.
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Persistence.Catalog.CatalogDbContext>();
        var needle = organizationId.ToString();
        var rows = await db.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication<Guid>>().AsNoTracking()
            .Where(a => a.Properties != null && a.Properties.Contains(needle))
            .Select(a => new { a.ClientId, a.DisplayName, a.Properties })
            .ToListAsync(cancellationToken);
        var result = new List<ApiClientDto>();
        foreach (var row in rows)
        {
            using var properties = JsonDocument.Parse(row.Properties!);
            if (properties.RootElement.TryGetProperty(OrganizationProperty, out var org) && org.ValueKind == JsonValueKind.String
                && org.GetString() == needle)
            {
                var role = properties.RootElement.TryGetProperty(RoleProperty, out var value) && value.ValueKind == JsonValueKind.String
                    ? value.GetString() : null;
                result.Add(new ApiClientDto(row.ClientId!, row.DisplayName ?? string.Empty, role ?? "member"));
            }
        }

        return [.. result.OrderBy(c => c.Name, StringComparer.Ordinal)];
    }

    public async Task<bool> DeleteAsync(Guid organizationId, string clientId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var application = await applications.FindByClientIdAsync(clientId, cancellationToken);
        if (application is null)
        {
            return false;
        }

        var properties = await applications.GetPropertiesAsync(application, cancellationToken);
        if (!properties.TryGetValue(OrganizationProperty, out var org) || org.GetString() != organizationId.ToString())
        {
            return false;
        }

        await applications.DeleteAsync(application, cancellationToken);
        return true;
    }
}
