using CleanCrm.Application.Common.Secrets;
using CleanCrm.Infrastructure.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CleanCrm.IntegrationTests.Secrets;

public sealed class KeyVaultOptionsTests
{
    [Fact]
    public void A_missing_vault_uri_fails_start_up_naming_the_setting()
    {
        using var provider = BuildProvider(new Dictionary<string, string?>
        {
            ["CleanCrm:Secrets:KeyVault:NamePrefix"] = "cleancrm-prod-",
        });

        var exception = Should.Throw<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        exception.Failures.ShouldHaveSingleItem().ShouldContain(
            "'CleanCrm:Secrets:KeyVault:VaultUri is required when CleanCrm:Secrets:Provider is KeyVault.'");
    }

    [Theory]
    [InlineData("http://cleancrm-prod.vault.azure.net/")]
    [InlineData("cleancrm-prod.vault.azure.net")]
    public void A_vault_uri_that_is_not_absolute_https_fails_naming_the_setting(string vaultUri)
    {
        using var provider = BuildProvider(new Dictionary<string, string?>
        {
            ["CleanCrm:Secrets:KeyVault:VaultUri"] = vaultUri,
        });

        var exception = Should.Throw<OptionsValidationException>(() => provider.GetRequiredService<IOptions<KeyVaultOptions>>().Value);

        exception.Failures.ShouldBe(["CleanCrm:Secrets:KeyVault:VaultUri must be an absolute https:// URI."]);
    }

    [Fact]
    public void A_prefix_with_characters_key_vault_refuses_fails_naming_the_setting()
    {
        using var provider = BuildProvider(new Dictionary<string, string?>
        {
            ["CleanCrm:Secrets:KeyVault:VaultUri"] = "https://cleancrm-prod.vault.azure.net/",
            ["CleanCrm:Secrets:KeyVault:NamePrefix"] = "cleancrm_prod_",
        });

        var exception = Should.Throw<OptionsValidationException>(() => provider.GetRequiredService<IOptions<KeyVaultOptions>>().Value);

        exception.Failures.ShouldHaveSingleItem().ShouldContain("'CleanCrm:Secrets:KeyVault:NamePrefix may contain only letters");
    }

    [Fact]
    public void Valid_settings_bind_and_register_the_key_vault_store()
    {
        using var provider = BuildProvider(new Dictionary<string, string?>
        {
            ["CleanCrm:Secrets:KeyVault:VaultUri"] = "https://cleancrm-prod.vault.azure.net/",
            ["CleanCrm:Secrets:KeyVault:NamePrefix"] = "cleancrm-prod-",
            ["CleanCrm:Secrets:KeyVault:PurgeOnDelete"] = "true",
        });

        provider.GetRequiredService<IStartupValidator>().Validate();
        var options = provider.GetRequiredService<IOptions<KeyVaultOptions>>().Value;

        options.VaultUri.ShouldBe(new Uri("https://cleancrm-prod.vault.azure.net/"));
        options.NamePrefix.ShouldBe("cleancrm-prod-");
        options.PurgeOnDelete.ShouldBeTrue();
        provider.GetRequiredService<ISecretStore>().ShouldBeOfType<KeyVaultSecretStore>();
        provider.GetRequiredService<ISecretStore>().ShouldBeSameAs(provider.GetRequiredService<ISecretStore>());
    }

    private static ServiceProvider BuildProvider(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection()
            .AddLogging()
            .AddKeyVaultSecretStore(configuration)
            .BuildServiceProvider();
    }
}
