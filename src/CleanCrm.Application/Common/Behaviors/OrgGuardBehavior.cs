using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Tenancy;
using Mediator;

namespace CleanCrm.Application.Common.Behaviors;

/// <summary>Refuses an org-scoped request that runs without a tenant scope, whoever forgot to open one.</summary>
public sealed class OrgGuardBehavior<TMessage, TResponse>(ITenantContext tenantContext) : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next,
        CancellationToken cancellationToken)
    {
        if (RequestMetadata<TMessage>.IsOrgScoped && tenantContext.Current is null)
        {
            var error = new Error(
                ErrorType.BadRequest,
                ErrorCodes.OrgRequired,
                $"{RequestMetadata<TMessage>.Name} works on one organization: name it with the X-Org header (slug or id).");
            return ValueTask.FromResult(ResultFailure<TResponse>.Create(error));
        }

        return next(message, cancellationToken);
    }
}
