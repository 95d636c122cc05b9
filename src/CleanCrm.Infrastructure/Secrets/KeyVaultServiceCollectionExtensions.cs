using Azure.Identity;
using CleanCrm.Application.Common.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Secrets;

public static class KeyVaultServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ISecretStore"/> backed by Azure Key Vault, authenticated with
    /// <see cref="DefaultAzureCredential"/> (managed identity in Azure, developer sign-in locally).
    /// Options are validated when the host starts.
    /// </summary>
    public static IServiceCollection AddKeyVaultSecretStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<KeyVaultOptions>()
            .Bind(configuration.GetSection(KeyVaultOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeyVaultOptions>, KeyVaultOptionsValidator>());

        services.AddSingleton<ISecretStore>(provider => KeyVaultSecretStore.Create(
            provider.GetRequiredService<IOptions<KeyVaultOptions>>().Value,
            new DefaultAzureCredential(),
            logger: provider.GetRequiredService<ILogger<KeyVaultSecretStore>>()));

        return services;
    }
}
