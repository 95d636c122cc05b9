using CleanCrm.Application.Webhooks;
using CleanCrm.Infrastructure.Persistence.Tenant;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.Infrastructure.Workflows;

public static class WorkflowServices
{
    /// <summary>The domain-event outbox, its dispatcher and consumers, and outgoing webhooks (docs/WORKFLOWS.md).</summary>
    public static IServiceCollection AddWorkflows(this IServiceCollection services)
    {
        services.AddSingleton<DomainEventInterceptor>();
        services.AddSingleton<DomainEventDispatchQueue>();
        services.AddTransient<DomainEventDispatchJob>();
        services.AddSingleton<WebhookSecrets>();
        services.AddSingleton<IWebhookSecrets>(sp => sp.GetRequiredService<WebhookSecrets>());
        services.AddSingleton<IOutboundTargets, OutboundTargets>();
        services.AddSingleton<WebhookDeliveryQueue>();
        services.AddSingleton<IWebhookDeliveryQueue>(sp => sp.GetRequiredService<WebhookDeliveryQueue>());
        services.AddSingleton<IDomainEventConsumer, WebhookEventConsumer>();
        services.AddSingleton<IDomainEventConsumer, SlackEventConsumer>();
        services.AddTransient<WebhookDeliveryJob>();
        return services;
    }
}
