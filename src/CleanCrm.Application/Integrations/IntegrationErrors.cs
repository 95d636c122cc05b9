using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Integrations;

public static class IntegrationErrors
{
    public const string NotConfigured = "integration_not_configured";

    /// <summary>An unknown provider in the path is a resource that does not exist.</summary>
    public static Error? UnknownProvider(string provider) => IntegrationProviders.All.Contains(provider)
        ? null
        : new Error(ErrorType.NotFound, ErrorCodes.NotFound,
            $"Integration provider '{provider}' was not found; providers are {string.Join(", ", IntegrationProviders.All)}.");

    public static Error ProviderNotConfigured(string provider) => new(ErrorType.Unavailable, NotConfigured,
        $"The {provider} integration is not configured on this platform (no OAuth client).");
}
