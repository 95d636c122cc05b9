namespace CleanCrm.Application.ApiClients;

public sealed record ApiClientDto(string ClientId, string Name, string Role);

/// <summary>The secret appears here once and is stored only as a hash.</summary>
public sealed record CreatedApiClientDto(string ClientId, string ClientSecret, string Name, string Role);
