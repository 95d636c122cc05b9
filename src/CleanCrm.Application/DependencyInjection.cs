using CleanCrm.Application.Common.Behaviors;
using FluentValidation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.Application;

public static class DependencyInjection
{
    /// <summary>Registers Mediator with the pipeline behaviors outermost first (order: docs/ARCHITECTURE.md).</summary>
    public static IServiceCollection AddApplication(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddMediator(options =>
        {
            options.ServiceLifetime = ServiceLifetime.Scoped;
            options.Namespace = "CleanCrm.Application.Mediator";
            options.Assemblies = [typeof(DependencyInjection)];
            options.PipelineBehaviors =
            [
                typeof(UnhandledExceptionBehavior<,>),
                typeof(LoggingBehavior<,>),
                typeof(OrgGuardBehavior<,>),
                typeof(AuthorizationBehavior<,>),
                typeof(FeatureGateBehavior<,>),
                typeof(ValidationBehavior<,>),
                typeof(PerformanceBehavior<,>),
            ];
        });
        services.AddValidatorsFromAssemblyContaining(typeof(DependencyInjection), ServiceLifetime.Singleton, includeInternalTypes: true);
        services.AddOptions<PipelineOptions>()
            .Bind(configuration.GetSection(PipelineOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<Invitations.InvitationOptions>().Bind(configuration.GetSection(Invitations.InvitationOptions.SectionName));
        services.AddSingleton(TimeProvider.System);
        services.AddScoped<Billing.IEntitlements, Billing.Entitlements>();
        return services;
    }
}
