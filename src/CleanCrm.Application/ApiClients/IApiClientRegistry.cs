namespace CleanCrm.Application.ApiClients;

/// <summary>Org-bound OAuth clients (client credentials) kept by the authorization server.</summary>
public interface IApiClientRegistry
{
    Task<CreatedApiClientDto> CreateAsync(Guid organizationId, string name, string role, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiClientDto>> ListAsync(Guid organizationId, CancellationToken cancellationToken);

    /// <summary>False when no client of that id belongs to the organization.</summary>
    Task<bool> DeleteAsync(Guid organizationId, string clientId, CancellationToken cancellationToken);
}
