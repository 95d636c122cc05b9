using CleanCrm.Application.Common.Behaviors;
using CleanCrm.Application.Common.Security;
using FluentValidation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

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
                // Outside authorization and validation: an admin's refused or invalid attempt is logged as failed.
                typeof(PlatformAuditBehavior<,>),
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
        // Hosts register where their requests come from (API: the HTTP connection; worker: cli or job; console: its own).
        // This fallback only serves hosts that send no platform-admin command of their own (test and benchmark hosts).
        services.TryAddSingleton<IRequestOrigin>(new FixedRequestOrigin(FixedRequestOrigin.Job));
        services.AddScoped<Billing.IEntitlements, Billing.Entitlements>();
        services.AddScoped<Common.Ai.MeteredAiCalls>();
        services.AddScoped<Proposals.ProposalGenerator>();
        return services;
    }
}
