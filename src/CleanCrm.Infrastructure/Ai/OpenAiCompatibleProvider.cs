using System.ClientModel;
using System.ClientModel.Primitives;
using CleanCrm.Application.Common.Ai;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;

namespace CleanCrm.Infrastructure.Ai;

/// <summary>
/// <see cref="IAiProvider"/> over an OpenAI-compatible Chat Completions endpoint (OpenAI, Azure OpenAI's v1 API, a local
/// server) through Microsoft.Extensions.AI.OpenAI. The client is built once; its HTTP goes through the factory's named
/// client, which logs no bodies. The key is only handed to the SDK's credential, never logged.
/// </summary>
public sealed class OpenAiCompatibleProvider : IAiProvider, IDisposable
{
    public const string HttpClientName = "ai-provider";

    private readonly Lazy<IChatClient> _client;

    public OpenAiCompatibleProvider(IOptions<AiOptions> options, IHttpClientFactory httpClients)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        IsConfigured = settings.IsConfigured;
        Settings = new AiSettings(settings.Model ?? string.Empty, settings.MaxOutputTokens, settings.MaxToolRounds);
        _client = new Lazy<IChatClient>(() =>
        {
            var clientOptions = new OpenAIClientOptions
            {
                Transport = new HttpClientPipelineTransport(httpClients.CreateClient(HttpClientName)),
                NetworkTimeout = TimeSpan.FromSeconds(settings.RequestTimeoutSeconds),
                RetryPolicy = new ClientRetryPolicy(settings.MaxRetries),
            };
            if (settings.Endpoint is { } endpoint)
            {
                clientOptions.Endpoint = endpoint;
            }

            // A local server may need no key; the SDK still wants a credential, which such a server ignores.
            var key = string.IsNullOrWhiteSpace(settings.ApiKey) ? "no-key" : settings.ApiKey;
            return new OpenAIClient(new ApiKeyCredential(key), clientOptions).GetChatClient(settings.Model!).AsIChatClient();
        });
    }

    public bool IsConfigured { get; }

    public IChatClient ChatClient => IsConfigured
        ? _client.Value
        : throw new InvalidOperationException("No AI provider is configured (CleanCrm:Ai).");

    public AiSettings Settings { get; }

    public bool IsTransient(Exception exception) => exception switch
    {
        // Status 0: the request got no response at all.
        ClientResultException result => result.Status is 0 or 408 or 429 or >= 500,
        HttpRequestException or TimeoutException or OperationCanceledException or IOException => true,
        _ => exception.InnerException is { } inner && IsTransient(inner),
    };

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }
}
