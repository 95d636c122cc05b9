using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace CleanCrm.IntegrationTests.Integrations;

/// <summary>The API with the four providers pointed at an <see cref="OAuthProvidersStub"/>, its log events collected.</summary>
internal sealed class IntegrationsHost : IDisposable
{
    public const string SpaRedirect = "https://app.cleancrm.test/settings/integrations";

    public IntegrationsHost(PlatformEnvironment platform, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        Providers = new OAuthProvidersStub();
        var settings = Providers.Settings(SpaRedirect);
        settings["Serilog:MinimumLevel:Default"] = "Information";
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        Api = new ApiFactory(platform, settings, services => services.AddSingleton<ILogEventSink>(Logs));
    }

    public OAuthProvidersStub Providers { get; }

    public ApiFactory Api { get; }

    public LogCollector Logs { get; } = new();

    /// <summary>A browser-like client for the callback: redirects are returned, not followed.</summary>
    public HttpClient Browser() => Api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    /// <summary>Connect → consent at the stub → callback; answers the callback response.</summary>
    public async Task<HttpResponseMessage> ConnectAsync(HttpClient admin, string provider)
    {
        var started = await admin.PostAsync($"/api/v1/integrations/{provider}/connect", null);
        started.StatusCode.ShouldBe(HttpStatusCode.OK, await started.Content.ReadAsStringAsync());
        var url = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("authorizationUrl").GetString()!;
        var (code, state, _) = Providers.Authorize(provider, url);
        return await Browser().GetAsync(
            $"/oauth/{provider}/callback?code={Uri.EscapeDataString(code)}&state={Uri.EscapeDataString(state)}");
    }

    public void Dispose()
    {
        Api.Dispose();
        Providers.Dispose();
    }

    internal sealed class LogCollector : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> _events = new();

        public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

        /// <summary>Every event rendered with its properties and exception, as a sink writing JSON would see it.</summary>
        public string Everything() => string.Join('\n', _events.Select(e =>
            $"{e.RenderMessage()} {string.Join(' ', e.Properties.Select(p => $"{p.Key}={p.Value}"))} {e.Exception}"));
    }
}
