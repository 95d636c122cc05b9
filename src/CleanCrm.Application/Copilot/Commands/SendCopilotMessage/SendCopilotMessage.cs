using CleanCrm.Application.Common.Ai;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Application.Companies.Queries.GetCompany;
using CleanCrm.Application.Contacts.Queries.GetContact;
using CleanCrm.Application.Deals.Queries.GetDeal;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Application.Copilot.Commands.SendCopilotMessage;

/// <summary>The record the user is looking at; exactly one id.</summary>
public sealed record CopilotContext(Guid? DealId, Guid? ContactId, Guid? CompanyId);

/// <summary>The body of <c>POST /api/v1/copilot/messages</c>.</summary>
public sealed record CopilotMessageBody(Guid? ConversationId, string? Message, CopilotContext? Context);

/// <summary>
/// Accepts a message for the copilot (docs/AI.md): checks the provider, the conversation (the caller's own) and the
/// context record (as the caller), reserves the first model call's tokens, stores the user's message and hands back a
/// <see cref="CopilotRun"/> that the endpoint runs as a stream or to a JSON answer.
/// </summary>
[RequiresPermission(Permission.CrmRead)]
[RequiresFeature(PremiumFeatures.AiCopilot)]
public sealed record SendCopilotMessage(CopilotMessageBody Body, bool Stream) : ICommand<Result<CopilotRun>>, IOrgScopedRequest;

public sealed class SendCopilotMessageValidator : AbstractValidator<SendCopilotMessage>
{
    public const int MaxMessageLength = 8000;

    public SendCopilotMessageValidator()
    {
        RuleFor(x => x.Body.Message).NotEmpty().WithMessage("is required.")
            .MaximumLength(MaxMessageLength).WithMessage($"must be at most {MaxMessageLength} characters.")
            .OverridePropertyName("message");
        RuleFor(x => x.Body.ConversationId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.")
            .OverridePropertyName("conversationId");
        RuleFor(x => x.Body.Context)
            .Must(c => c is null || new[] { c.DealId, c.ContactId, c.CompanyId }.Count(id => id is not null) == 1)
            .WithMessage("names exactly one of dealId, contactId, companyId.")
            .Must(c => c is null || new[] { c.DealId, c.ContactId, c.CompanyId }.All(id => id != Guid.Empty))
            .WithMessage("ids must not be the empty UUID.")
            .OverridePropertyName("context");
    }
}

public sealed class SendCopilotMessageHandler(
    ITenantDbContext db,
    ICallerContext caller,
    ITenantContext tenant,
    IAiProvider provider,
    MeteredAiCalls calls,
    ISender mediator,
    TimeProvider clock,
    ILogger<CopilotRun> logger) : ICommandHandler<SendCopilotMessage, Result<CopilotRun>>
{
    private const int HistoryMessages = 20;

    public async ValueTask<Result<CopilotRun>> Handle(SendCopilotMessage command, CancellationToken cancellationToken)
    {
        if (!provider.IsConfigured)
        {
            return AiErrors.NotConfiguredError();
        }

        var user = CopilotCaller.UserOf(caller);
        if (!user.IsSuccess)
        {
            return user.Error!;
        }

        var body = command.Body;
        CopilotConversation? conversation = null;
        var history = new List<CopilotMessage>();
        if (body.ConversationId is { } conversationId)
        {
            conversation = await db.CopilotConversations
                .FirstOrDefaultAsync(c => c.Id == conversationId && c.UserId == user.Value, cancellationToken);
            if (conversation is null)
            {
                return Error.NotFound("Conversation", conversationId);
            }

            history = await db.CopilotMessages.AsNoTracking().Where(m => m.ConversationId == conversationId)
                .OrderByDescending(m => m.CreatedAt).ThenByDescending(m => m.Id).Take(HistoryMessages).ToListAsync(cancellationToken);
            history.Reverse();
        }

        var context = await DescribeContextAsync(body.Context, cancellationToken);
        if (!context.IsSuccess)
        {
            return context.Error!;
        }

        var tenantInfo = tenant.Current!;
        var now = clock.GetUtcNow();
        var messages = new List<ChatMessage> { new(ChatRole.System, SystemPrompt(tenantInfo.Name, now, context.Value)) };
        messages.AddRange(history.Select(m =>
            new ChatMessage(m.Role == CopilotMessageRole.User ? ChatRole.User : ChatRole.Assistant, m.Content)));
        messages.Add(new ChatMessage(ChatRole.User, body.Message));

        var options = calls.OptionsWith(CopilotTools.Declarations);
        var reservation = await calls.ReserveAsync(tenantInfo.OrganizationId, "copilot", messages, options, cancellationToken);
        if (!reservation.IsSuccess)
        {
            return reservation.Error!;
        }

        try
        {
            if (conversation is null)
            {
                var message = body.Message!.Trim();
                conversation = new CopilotConversation
                {
                    UserId = user.Value,
                    Title = message.Length <= 200 ? message : message[..199] + "…",
                    CreatedAt = now,
                    UpdatedAt = now,
                };
                db.CopilotConversations.Add(conversation);
            }

            conversation.UpdatedAt = now;
            db.CopilotMessages.Add(new CopilotMessage
            {
                ConversationId = conversation.Id,
                Role = CopilotMessageRole.User,
                Content = body.Message!,
                CreatedAt = now,
            });
            await db.SaveChangesAsync(cancellationToken);
        }
        catch
        {
            await calls.SettleAsync("copilot", reservation.Value, null, failed: true, CancellationToken.None);
            throw;
        }

        var run = new CopilotRun.RunContext(tenantInfo.OrganizationId, conversation, provider, calls, new CopilotTools(mediator), db, clock,
            logger, command.Stream);
        return new CopilotRun(run, messages, reservation.Value);
    }

    /// <summary>Checks the context record as the caller (another org's id is simply not found) and names it for the model.</summary>
    private async Task<Result<string?>> DescribeContextAsync(CopilotContext? context, CancellationToken cancellationToken)
    {
        switch (context)
        {
            case { DealId: { } dealId }:
                var deal = await mediator.Send(new GetDeal(dealId), cancellationToken);
                return deal.IsSuccess ? $"the deal with id {dealId} (use get_deal for its details)" : deal.Error!;
            case { ContactId: { } contactId }:
                var contact = await mediator.Send(new GetContact(contactId), cancellationToken);
                return contact.IsSuccess ? $"the contact with id {contactId}" : contact.Error!;
            case { CompanyId: { } companyId }:
                var company = await mediator.Send(new GetCompany(companyId), cancellationToken);
                return company.IsSuccess ? $"the company with id {companyId}" : company.Error!;
            default:
                return (string?)null;
        }
    }

    // No secrets and nothing of another organization: the org's own name, the date and the record in view.
    private static string SystemPrompt(string organization, DateTimeOffset now, string? context) =>
        $"You are the CRM copilot of the organization \"{organization}\". Answer from its CRM data, which you read with the "
        + "tools; never invent records, and say so when the tools find nothing. Amounts are integers in minor units (cents) "
        + $"with an ISO 4217 currency. Today is {now:yyyy-MM-dd} (UTC)."
        + (context is null ? string.Empty : $" The user is looking at {context}.");
}
