using CleanCrm.Application.Webhooks;
using CleanCrm.Application.Workflows;
using CleanCrm.Infrastructure.Persistence.Tenant;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.Infrastructure.Workflows;

public static class WorkflowServices
{
    /// <summary>The domain-event outbox, its dispatcher and consumers, outgoing webhooks and workflows (docs/WORKFLOWS.md).</summary>
    public static IServiceCollection AddWorkflows(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WorkflowOptions>().Bind(configuration.GetSection(WorkflowOptions.SectionName)).ValidateDataAnnotations()
            .ValidateOnStart();
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
        // The third consumer (docs/adr/0022-workflows.md); consumers run in registration order.
        services.AddSingleton<IDomainEventConsumer, WorkflowEventConsumer>();
        services.AddTransient<WebhookDeliveryJob>();
        services.AddSingleton<WorkflowRunQueue>();
        services.AddSingleton<IWorkflowEffects, WorkflowEffects>();
        services.AddSingleton<WorkflowActionRunner>();
        services.AddTransient<WorkflowRunJob>();
        services.AddTransient<OutboxMaintenanceJob>();
        services.AddTransient<OutboxMaintenanceScheduleJob>();
        return services;
    }
}
