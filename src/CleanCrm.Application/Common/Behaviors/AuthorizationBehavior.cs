using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;

namespace CleanCrm.Application.Common.Behaviors;

/// <summary>Enforces the permission or platform-admin flag a request type declares; undeclared requests are refused.</summary>
public sealed class AuthorizationBehavior<TMessage, TResponse>(ICallerContext caller) : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next,
        CancellationToken cancellationToken)
    {
        var denial = Check();
        if (denial is null)
        {
            return next(message, cancellationToken);
        }

        return ValueTask.FromResult(ResultFailure<TResponse>.Create(denial));
    }

    private Error? Check()
    {
        if (caller.IsSystem || RequestMetadata<TMessage>.AllowsAnonymous)
        {
            return null;
        }

        if (RequestMetadata<TMessage>.RequiresSignedInUser)
        {
            return caller.UserId is null ? Error.Forbidden(ErrorCodes.Forbidden, "Sign in to do this.") : null;
        }

        if (RequestMetadata<TMessage>.RequiresPlatformAdmin)
        {
            return caller.IsPlatformAdmin
                ? null
                : Error.Forbidden(ErrorCodes.Forbidden, "This operation is reserved to platform administrators.");
        }

        if (RequestMetadata<TMessage>.Permission is not { } permission)
        {
            return Error.Forbidden(ErrorCodes.Forbidden, $"{RequestMetadata<TMessage>.Name} declares no permission and is refused.");
        }

        if (caller.Role is not { } role || !RolePermissions.Allows(role, permission))
        {
            return Error.Forbidden(ErrorCodes.Forbidden, $"Your role does not allow this operation (it needs {permission}).");
        }

        return null;
    }
}
