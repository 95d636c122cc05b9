using System.Text;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.PlatformAudit;
using CleanCrm.Domain.Catalog;
using Mediator;

namespace CleanCrm.Application.Common.Behaviors;

/// <summary>
/// Records every platform-admin command in the platform audit log (docs/SECURITY.md, "Platform audit log"): who, from
/// where, what, on which organization, why, and how it ended. It sits outside authorization and validation so an admin's
/// refused or invalid attempt is logged as failed with its problem code; a non-admin's refusal is not an admin action.
/// Queries are not logged (reading is not an action).
/// </summary>
public sealed class PlatformAuditBehavior<TMessage, TResponse>(
    ICallerContext caller, IRequestOrigin origin, IPlatformAuditWriter writer, TimeProvider clock) : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    // Unaudited requests pass straight through (no async state machine of their own).
    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next,
        CancellationToken cancellationToken) =>
        PlatformAuditMetadata<TMessage>.Audited && (caller.IsPlatformAdmin || caller.IsSystem)
            ? AuditAsync(message, next, cancellationToken)
            : next(message, cancellationToken);

    private async ValueTask<TResponse> AuditAsync(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next,
        CancellationToken cancellationToken)
    {
        TResponse response;
        try
        {
            response = await next(message, cancellationToken);
        }
        catch (Exception exception)
        {
            // The action may have happened partly; the log says it did not end well and the exception goes on.
            await WriteAsync(message, default, exception is OperationCanceledException ? "cancelled" : "unexpected_error");
            throw;
        }

        await WriteAsync(message, response, response is Result { Error: { } error } ? error.Code : null);
        return response;
    }

    private Task WriteAsync(TMessage message, TResponse? response, string? error)
    {
        var audited = message as IPlatformAuditedRequest;
        var result = error is null && response is not null ? PlatformAuditMetadata<TResponse>.ValueOf(response) as IPlatformAuditedResult : null;
        var entry = new PlatformAuditEntry
        {
            OccurredAt = clock.GetUtcNow(),
            ActorUserId = caller.UserId,
            Channel = origin.Channel,
            IpAddress = Truncate(origin.IpAddress, 64),
            UserAgent = Truncate(origin.UserAgent, 300),
            Action = PlatformAuditMetadata<TMessage>.Action,
            OrganizationId = audited?.AuditOrganizationId ?? result?.AuditOrganizationId,
            TargetId = audited?.AuditTargetId ?? result?.AuditTargetId,
            Reason = Truncate(string.IsNullOrWhiteSpace(audited?.AuditReason) ? null : audited.AuditReason.Trim(), 500),
            Outcome = error is null ? PlatformAuditEntry.Succeeded : PlatformAuditEntry.Failed,
            Error = Truncate(error, 100),
        };

        // Written even when the request was cancelled: the action may already have taken effect.
        return writer.AppendAsync(entry, CancellationToken.None);
    }

    private static string? Truncate(string? value, int length) => value is { Length: > 0 } && value.Length > length ? value[..length] : value;
}

/// <summary>What the platform audit behavior needs to know about a request or response type, computed once per type.</summary>
public static class PlatformAuditMetadata<T>
{
    /// <summary>A platform-admin command (not a query).</summary>
    public static readonly bool Audited = RequestMetadata<T>.RequiresPlatformAdmin
        && typeof(T).GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ICommand<>));

    /// <summary>
    /// <c>SuspendOrganization</c> → <c>organization.suspend</c>, <c>SetFeatureOverride</c> → <c>feature_override.set</c>:
    /// the first word of the command's name is the verb, the rest what it acts on.
    /// </summary>
    public static readonly string Action = ActionOf(typeof(T).Name);

    private static readonly Func<T, object?>? Value = CreateValueReader();

    public static object? ValueOf(T response) => Value?.Invoke(response);

    public static string ActionOf(string typeName)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        foreach (var c in typeName)
        {
            if (char.IsUpper(c) && current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }

            current.Append(char.ToLowerInvariant(c));
        }

        words.Add(current.ToString());
        return words.Count == 1 ? words[0] : $"{string.Join('_', words.Skip(1))}.{words[0]}";
    }

    private static Func<T, object?>? CreateValueReader()
    {
        if (!typeof(T).IsGenericType || typeof(T).GetGenericTypeDefinition() != typeof(Result<>))
        {
            return null;
        }

        var property = typeof(T).GetProperty(nameof(Result<object>.Value))!;
        return response => property.GetValue(response);
    }
}
