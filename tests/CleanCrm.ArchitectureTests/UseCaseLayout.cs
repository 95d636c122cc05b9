using Mediator;

namespace CleanCrm.ArchitectureTests;

/// <summary>
/// The use-case layout of docs/ARCHITECTURE.md as a rule over types: each handler sits alone in
/// <c>{root}.{Area}.{Commands|Queries}.{UseCase}</c>, is named <c>{UseCase}Handler</c> and handles the request <c>{UseCase}</c>
/// declared beside it. Handlers are found by the Mediator interfaces they implement (also through a base class), not by name.
/// </summary>
public static class UseCaseLayout
{
    private static readonly Type[] HandlerInterfaces =
    [
        typeof(IRequestHandler<>),
        typeof(IRequestHandler<,>),
        typeof(ICommandHandler<>),
        typeof(ICommandHandler<,>),
        typeof(IQueryHandler<,>),
        typeof(IStreamRequestHandler<,>),
        typeof(IStreamCommandHandler<,>),
        typeof(IStreamQueryHandler<,>),
    ];

    /// <summary>What breaks the layout among <paramref name="types"/>, one line each; empty when nothing does.</summary>
    public static IReadOnlyList<string> Violations(IEnumerable<Type> types, string rootNamespace)
    {
        var concrete = types.Where(t => t is { IsAbstract: false, IsInterface: false, IsGenericTypeDefinition: false }).ToList();
        var handlers = concrete.Select(t => (Type: t, Requests: RequestsHandledBy(t))).Where(h => h.Requests.Count > 0).ToList();
        var violations = new List<string>();
        foreach (var (handler, requests) in handlers)
        {
            violations.AddRange(HandlerViolations(handler, requests, rootNamespace));
        }

        foreach (var crowded in handlers.GroupBy(h => h.Type.Namespace).Where(g => g.Count() > 1))
        {
            var names = string.Join(", ", crowded.Select(h => h.Type.Name).Order(StringComparer.Ordinal));
            violations.Add($"{crowded.Key} holds {crowded.Count()} handlers ({names}); a use-case folder holds exactly one.");
        }

        var handledBeside = handlers.SelectMany(h => h.Requests.Where(r => r.Namespace == h.Type.Namespace)).ToHashSet();
        violations.AddRange(concrete
            .Where(t => IsRequest(t) && !handledBeside.Contains(t))
            .Select(t => $"{t.FullName} has no handler in its namespace."));
        return violations;
    }

    private static IEnumerable<string> HandlerViolations(Type handler, IReadOnlyList<Type> requests, string rootNamespace)
    {
        if (requests.Count > 1)
        {
            yield return $"{handler.FullName} handles {requests.Count} requests; a handler handles one.";
        }

        foreach (var request in requests.Where(r => r.Namespace != handler.Namespace))
        {
            yield return $"{handler.FullName} handles {request.FullName}, which is declared in another namespace.";
        }

        var folder = UseCaseOf(handler.Namespace, rootNamespace);
        if (folder is null)
        {
            yield return $"{handler.FullName} is not in a use-case folder ({rootNamespace}.<Area>.<Commands|Queries>.<UseCase>).";
            yield break;
        }

        var (kind, useCase) = folder.Value;

        if (handler.Name != $"{useCase}Handler")
        {
            yield return $"{handler.FullName} should be named {useCase}Handler after its use-case folder.";
        }

        foreach (var request in requests.Where(r => r.Namespace == handler.Namespace))
        {
            if (request.Name != useCase)
            {
                yield return $"{request.FullName} should be named {useCase} after its use-case folder.";
            }

            if (kind == "Commands" && !IsCommand(request))
            {
                yield return $"{request.FullName} is under Commands but is not an ICommand (reads go under Queries).";
            }

            if (kind == "Queries" && !IsQuery(request))
            {
                yield return $"{request.FullName} is under Queries but is not an IQuery (writes go under Commands).";
            }
        }
    }

    private static (string Kind, string UseCase)? UseCaseOf(string? ns, string rootNamespace)
    {
        if (ns is null || !ns.StartsWith(rootNamespace + ".", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = ns[(rootNamespace.Length + 1)..].Split('.');
        return parts is [_, "Commands" or "Queries", _] ? (parts[1], parts[2]) : null;
    }

    private static List<Type> RequestsHandledBy(Type type) =>
    [
        .. type.GetInterfaces()
            .Where(i => i.IsGenericType && HandlerInterfaces.Contains(i.GetGenericTypeDefinition()))
            .Select(i => i.GetGenericArguments()[0])
            .Distinct(),
    ];

    private static bool IsRequest(Type type) =>
        type is { IsAbstract: false, IsInterface: false }
        && (typeof(IBaseRequest).IsAssignableFrom(type) || typeof(IBaseStreamRequest).IsAssignableFrom(type)
            || IsCommand(type) || IsQuery(type));

    private static bool IsCommand(Type type) =>
        typeof(IBaseCommand).IsAssignableFrom(type) || typeof(IBaseStreamCommand).IsAssignableFrom(type);

    private static bool IsQuery(Type type) =>
        typeof(IBaseQuery).IsAssignableFrom(type) || typeof(IBaseStreamQuery).IsAssignableFrom(type);
}
