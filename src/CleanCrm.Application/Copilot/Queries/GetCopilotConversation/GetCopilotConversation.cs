using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Copilot.Queries.GetCopilotConversation;

/// <summary>One of the caller's conversations with its messages; anyone else's is not found.</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.AiCopilot)]
public sealed record GetCopilotConversation(Guid Id) : IQuery<Result<CopilotConversationDetailDto>>, IOrgScopedRequest;

public sealed class GetCopilotConversationHandler(ITenantDbContext db, ICallerContext caller)
    : IQueryHandler<GetCopilotConversation, Result<CopilotConversationDetailDto>>
{
    public async ValueTask<Result<CopilotConversationDetailDto>> Handle(GetCopilotConversation query, CancellationToken cancellationToken)
    {
        var user = CopilotCaller.UserOf(caller);
        if (!user.IsSuccess)
        {
            return user.Error!;
        }

        var conversation = await db.CopilotConversations.AsNoTracking()
            .FirstOrDefaultAsync(c => c.Id == query.Id && c.UserId == user.Value, cancellationToken);
        if (conversation is null)
        {
            return Error.NotFound("Conversation", query.Id);
        }

        var messages = await db.CopilotMessages.AsNoTracking().Where(m => m.ConversationId == query.Id)
            .OrderBy(m => m.CreatedAt).ThenBy(m => m.Id).ToListAsync(cancellationToken);
        return new CopilotConversationDetailDto(conversation.Id, conversation.Title, conversation.CreatedAt, conversation.UpdatedAt,
            [.. messages.Select(CopilotMessageDto.From)]);
    }
}
