using System.Security.Cryptography;
using System.Text.Json;
using CleanCrm.Application.ApiClients;
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
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
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
        await using var scope = scopes.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var result = new List<ApiClientDto>();
        await foreach (var application in applications.ListAsync(count: null, offset: null, cancellationToken))
        {
            var properties = await applications.GetPropertiesAsync(application, cancellationToken);
            if (properties.TryGetValue(OrganizationProperty, out var org) && org.GetString() == organizationId.ToString())
            {
                result.Add(new ApiClientDto(
                    (await applications.GetClientIdAsync(application, cancellationToken))!,
                    (await applications.GetDisplayNameAsync(application, cancellationToken)) ?? string.Empty,
                    properties.TryGetValue(RoleProperty, out var role) ? role.GetString() ?? "member" : "member"));
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
