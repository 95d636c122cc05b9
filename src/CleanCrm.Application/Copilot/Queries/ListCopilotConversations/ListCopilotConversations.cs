using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Copilot.Queries.ListCopilotConversations;

/// <summary>The caller's own conversations, most recently used first (the latest 100, one page).</summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.AiCopilot)]
public sealed record ListCopilotConversations : IQuery<Result<Page<CopilotConversationDto>>>, IOrgScopedRequest;

public sealed class ListCopilotConversationsHandler(ITenantDbContext db, ICallerContext caller)
    : IQueryHandler<ListCopilotConversations, Result<Page<CopilotConversationDto>>>
{
    private const int Latest = 100;

    public async ValueTask<Result<Page<CopilotConversationDto>>> Handle(ListCopilotConversations query,
        CancellationToken cancellationToken)
    {
        var user = CopilotCaller.UserOf(caller);
        if (!user.IsSuccess)
        {
            return user.Error!;
        }

        var conversations = await db.CopilotConversations.AsNoTracking().Where(c => c.UserId == user.Value)
            .OrderByDescending(c => c.UpdatedAt).ThenByDescending(c => c.Id).Take(Latest).ToListAsync(cancellationToken);
        return new Page<CopilotConversationDto>([.. conversations.Select(CopilotConversationDto.From)], null);
    }
}
