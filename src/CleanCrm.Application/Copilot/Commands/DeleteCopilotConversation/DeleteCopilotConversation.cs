using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Copilot.Commands.DeleteCopilotConversation;

/// <summary>Deletes one of the caller's conversations with its messages, for good (they are the user's, not CRM records).</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.AiCopilot)]
public sealed record DeleteCopilotConversation(Guid Id) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteCopilotConversationHandler(ITenantDbContext db, ICallerContext caller)
    : ICommandHandler<DeleteCopilotConversation, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(DeleteCopilotConversation command, CancellationToken cancellationToken)
    {
        var user = CopilotCaller.UserOf(caller);
        if (!user.IsSuccess)
        {
            return user.Error!;
        }

        var deleted = await db.CopilotConversations.Where(c => c.Id == command.Id && c.UserId == user.Value)
            .ExecuteDeleteAsync(cancellationToken);
        return deleted == 0 ? Error.NotFound("Conversation", command.Id) : Unit.Value;
    }
}
