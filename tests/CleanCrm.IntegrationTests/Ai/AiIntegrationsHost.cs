using CleanCrm.IntegrationTests.Integrations;
using CleanCrm.IntegrationTests.Support;

namespace CleanCrm.IntegrationTests.Ai;

/// <summary>
/// The API with an OpenAI-compatible <see cref="OpenAiStub"/> as its AI provider and the integration providers (Slack,
/// Fathom…) pointed at <see cref="OAuthProvidersStub"/>: proposals, meeting summaries and their Slack notification.
/// </summary>
internal sealed class AiIntegrationsHost : IDisposable
{
    public const string SharedKey = "ai-integrations-host";

    public AiIntegrationsHost(SharedPlatform platform)
    {
        Stub = new OpenAiStub();
        Integrations = new IntegrationsHost(platform, new Dictionary<string, string?>
        {
            ["CleanCrm:Ai:Endpoint"] = Stub.Endpoint,
            ["CleanCrm:Ai:Model"] = OpenAiStub.Model,
            ["CleanCrm:Ai:ApiKey"] = OpenAiStub.ApiKey,
            // Each reservation is then a little over 2,000 tokens (the output cap + the estimated prompt).
            ["CleanCrm:Ai:MaxOutputTokens"] = "2000",
            // A failing stub answers at once instead of after the SDK's own retries and their backoff.
            ["CleanCrm:Ai:MaxRetries"] = "0",
        });
    }

    public OpenAiStub Stub { get; }

    public IntegrationsHost Integrations { get; }

    public ApiFactory Api => Integrations.Api;

    public static Task<AiIntegrationsHost> SharedAsync(SharedPlatform platform) =>
        platform.SharedAsync(SharedKey, () => Task.FromResult(new AiIntegrationsHost(platform)));

    public void Dispose()
    {
        Integrations.Dispose();
        Stub.Dispose();
    }
}
