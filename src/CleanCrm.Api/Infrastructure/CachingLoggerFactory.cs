using System.Collections.Concurrent;

namespace CleanCrm.Api.Infrastructure;

/// <summary>
/// An <see cref="ILoggerFactory"/> that returns one logger per category (loggers are thread-safe and stateless per call).
/// </summary>
public sealed class CachingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    private readonly ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    public static void Decorate(IServiceCollection services)
    {
        var descriptor = services.LastOrDefault(d => d.ServiceType == typeof(ILoggerFactory));
        if (descriptor is null || descriptor.IsKeyedService)
        {
            return;
        }

        services.Remove(descriptor);
        services.AddSingleton<ILoggerFactory>(sp => new CachingLoggerFactory(Create(descriptor, sp)));
    }

    public ILogger CreateLogger(string categoryName) =>
        _loggers.GetOrAdd(categoryName, static (category, factory) => factory.CreateLogger(category), inner);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    private static ILoggerFactory Create(ServiceDescriptor descriptor, IServiceProvider services) =>
        descriptor.ImplementationInstance as ILoggerFactory
        ?? descriptor.ImplementationFactory?.Invoke(services) as ILoggerFactory
        ?? (ILoggerFactory)ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!);
}
