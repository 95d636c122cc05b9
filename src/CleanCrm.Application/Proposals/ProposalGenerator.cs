using System.Globalization;
using System.Text;
using CleanCrm.Application.Common.Ai;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Application.Proposals;

/// <summary>
/// The work of the proposal job, in the organization's tenant scope (docs/AI.md, "Proposals"): claim the proposal, build
/// the prompt from the deal, its company, contacts, meeting summaries and the org's template, reserve the tokens, call
/// the model, store the Markdown and its sanitised HTML, then settle. A finished proposal is never generated again, so a
/// retried or duplicated job neither calls the model nor charges twice; the result is stored before the reservation is
/// settled, so a crash in between leaves at most an unsettled reservation (released by the sweeper), never a second charge.
/// </summary>
public sealed partial class ProposalGenerator(
    ITenantDbContext db,
    IAiProvider provider,
    MeteredAiCalls calls,
    IMarkdownRenderer renderer,
    TimeProvider clock,
    ILogger<ProposalGenerator> logger)
{
    /// <summary>A claim older than this is a worker that died; the next delivery of the job takes the proposal over.</summary>
    public static readonly TimeSpan ClaimLease = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Attempts at the model when it fails transiently (slow, unreachable, 429, 5xx: <see cref="IAiProvider.IsTransient"/>):
    /// before the last one the proposal goes back to <c>pending</c> and the job is retried by its schedule (docs/AI.md).
    /// </summary>
    public const int MaxProviderAttempts = 4;

    private const string Purpose = "proposal";
    private const int MaxMeetingSummaries = 5;
    private const int MaxSummaryCharacters = 4000;
    private const int MaxContacts = 10;

    public async Task GenerateAsync(Guid organizationId, string organizationName, Guid proposalId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var stale = now - ClaimLease;
        var claimed = await db.Proposals
            .Where(p => p.Id == proposalId
                        && (p.Status == ProposalStatus.Pending || (p.Status == ProposalStatus.Generating && p.StartedAt < stale)))
            .ExecuteUpdateAsync(u => u.SetProperty(p => p.Status, ProposalStatus.Generating)
                .SetProperty(p => p.Attempts, p => p.Attempts + 1)
                .SetProperty(p => p.StartedAt, now)
                .SetProperty(p => p.UpdatedAt, now), cancellationToken);
        if (claimed == 0)
        {
            LogSkipped(logger, proposalId);
            return;
        }

        var proposal = await db.Proposals.AsNoTracking().FirstAsync(p => p.Id == proposalId, cancellationToken);
        var deal = await db.Deals.AsNoTracking()
            .FirstOrDefaultAsync(d => d.Id == proposal.DealId && d.DeletedAt == null, cancellationToken);
        if (deal is null)
        {
            await FinishAsync(proposal, ProposalStatus.Failed, "The deal was deleted before the proposal was generated.", null, null, null,
                cancellationToken);
            return;
        }

        if (!provider.IsConfigured)
        {
            await FinishAsync(proposal, ProposalStatus.Failed, AiErrors.NotConfiguredError().Detail, null, null, null, cancellationToken);
            return;
        }

        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, SystemPrompt(organizationName, now)),
            new(ChatRole.User, await UserPromptAsync(deal, proposal.Instructions, cancellationToken)),
        };
        var options = calls.OptionsWith();
        var reservation = await calls.ReserveAsync(organizationId, Purpose, messages, options, cancellationToken);
        if (!reservation.IsSuccess)
        {
            await FinishAsync(proposal, ProposalStatus.Failed, reservation.Error!.Detail, null, null, null, cancellationToken);
            return;
        }

        ChatResponse? response = null;
        var failed = true;
        try
        {
            try
            {
                response = await provider.ChatClient.GetResponseAsync(messages, options, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogProviderFailed(logger, exception.GetType().Name);
                if (provider.IsTransient(exception) && proposal.Attempts < MaxProviderAttempts
                    && await ReleaseForRetryAsync(proposal, CancellationToken.None))
                {
                    // The reservation is released in finally; the job's retry claims the proposal again.
                    throw new ProposalRetryException(proposal.Id, proposal.Attempts, exception.GetType().Name);
                }

                await FinishAsync(proposal, ProposalStatus.Failed, AiErrors.ProviderFailedError().Detail, null, null, null,
                    CancellationToken.None);
                return;
            }

            failed = false;
            var markdown = response.Text.Trim();
            if (markdown.Length == 0)
            {
                await FinishAsync(proposal, ProposalStatus.Failed, "The model answered with an empty document; ask again.", null, null,
                    response.Usage, CancellationToken.None);
                return;
            }

            await FinishAsync(proposal, ProposalStatus.Ready, null, markdown, renderer.ToSafeHtml(markdown), response.Usage,
                CancellationToken.None);
        }
        finally
        {
            await calls.SettleAsync(Purpose, reservation.Value, response?.Usage, failed, CancellationToken.None);
        }
    }

    /// <summary>Hands the proposal back (<c>pending</c>) for the job's next retry, only while this attempt still holds the claim.</summary>
    private async Task<bool> ReleaseForRetryAsync(Proposal claimed, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var attempt = claimed.Attempts;
        return await db.Proposals.Where(p => p.Id == claimed.Id && p.Status == ProposalStatus.Generating && p.Attempts == attempt)
            .ExecuteUpdateAsync(u => u.SetProperty(p => p.Status, ProposalStatus.Pending).SetProperty(p => p.UpdatedAt, now),
                cancellationToken) == 1;
    }

    /// <summary>Writes the outcome, only while this attempt still holds the claim (a worker that took over wins).</summary>
    private async Task FinishAsync(Proposal claimed, ProposalStatus status, string? error, string? markdown, string? html,
        UsageDetails? usage, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var attempt = claimed.Attempts;
        var clipped = error is { Length: > 500 } ? error[..500] : error;
        await db.Proposals.Where(p => p.Id == claimed.Id && p.Status == ProposalStatus.Generating && p.Attempts == attempt)
            .ExecuteUpdateAsync(u => u.SetProperty(p => p.Status, status)
                .SetProperty(p => p.Error, clipped)
                .SetProperty(p => p.Markdown, markdown)
                .SetProperty(p => p.Html, html)
                .SetProperty(p => p.InputTokens, usage == null ? 0 : usage.InputTokenCount ?? 0)
                .SetProperty(p => p.OutputTokens, usage == null ? 0 : usage.OutputTokenCount ?? 0)
                .SetProperty(p => p.CompletedAt, now)
                .SetProperty(p => p.UpdatedAt, now), cancellationToken);
        LogFinished(logger, claimed.Id, status, markdown?.Length ?? 0, usage?.InputTokenCount ?? 0, usage?.OutputTokenCount ?? 0);
    }

    // The org's own name and the date; no ids, other organizations' data or secrets.
    private static string SystemPrompt(string organization, DateTimeOffset now) =>
        $"You write sales proposals for the organization \"{organization}\". Write one proposal in Markdown that follows the "
        + "template's structure, using only the facts given about the deal, the customer and their meetings; do not invent "
        + "prices, dates or commitments. Amounts are given in major units with their ISO 4217 currency. Answer with the Markdown "
        + $"document only. Today is {now:yyyy-MM-dd} (UTC).";

    private async Task<string> UserPromptAsync(Deal deal, string? instructions, CancellationToken cancellationToken)
    {
        var template = (await db.ProposalTemplates.AsNoTracking().FirstOrDefaultAsync(cancellationToken))?.Markdown
                       ?? ProposalTemplates.Default;
        var company = deal.CompanyId is { } companyId
            ? await db.Companies.AsNoTracking().FirstOrDefaultAsync(c => c.Id == companyId && c.DeletedAt == null, cancellationToken)
            : null;
        var contactIds = await db.DealContacts.AsNoTracking().Where(dc => dc.DealId == deal.Id && dc.DeletedAt == null)
            .Select(dc => dc.ContactId).ToListAsync(cancellationToken);
        if (deal.PrimaryContactId is { } primary)
        {
            contactIds.Insert(0, primary);
        }

        var contacts = await db.Contacts.AsNoTracking().Where(c => contactIds.Contains(c.Id) && c.DeletedAt == null)
            .Take(MaxContacts).ToListAsync(cancellationToken);
        var meetings = await db.Meetings.AsNoTracking()
            .Where(m => m.DeletedAt == null && m.Summary != null
                        && (m.DealId == deal.Id || (deal.CompanyId != null && m.CompanyId == deal.CompanyId)))
            .OrderByDescending(m => m.StartsAt).Take(MaxMeetingSummaries)
            .Select(m => new { m.Title, m.StartsAt, m.Summary }).ToListAsync(cancellationToken);

        var text = new StringBuilder();
        text.Append("Template:\n").Append(template.Replace("{deal}", deal.Name, StringComparison.Ordinal)).Append("\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Deal: {deal.Name}");
        if (deal.Amount is { } amount)
        {
            text.Append(CultureInfo.InvariantCulture, $"; amount {amount / 100m:N2} {deal.Currency}");
        }

        if (deal.ExpectedCloseDate is { } close)
        {
            text.Append(CultureInfo.InvariantCulture, $"; expected close {close:yyyy-MM-dd}");
        }

        text.Append(CultureInfo.InvariantCulture, $"; probability {deal.Probability}%\n");
        if (company is not null)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"Customer: {company.Name}{Part("domain", company.Domain)}{Part("industry", company.Industry)}\n");
        }

        foreach (var contact in contacts)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"Contact: {$"{contact.FirstName} {contact.LastName}".Trim()}{Part("job title", contact.JobTitle)}\n");
        }

        foreach (var meeting in meetings)
        {
            var summary = meeting.Summary!.Length <= MaxSummaryCharacters ? meeting.Summary : meeting.Summary[..MaxSummaryCharacters];
            text.Append(CultureInfo.InvariantCulture, $"\nMeeting \"{meeting.Title}\" on {meeting.StartsAt:yyyy-MM-dd}:\n{summary}\n");
        }

        if (instructions is not null)
        {
            text.Append("\nInstructions from the requester:\n").Append(instructions).Append('\n');
        }

        return text.ToString();
    }

    private static string Part(string name, string? value) => string.IsNullOrWhiteSpace(value) ? string.Empty : $"; {name} {value}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Proposal {ProposalId} is finished or being generated elsewhere; skipped")]
    private static partial void LogSkipped(ILogger logger, Guid proposalId);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Proposal {ProposalId} {Status}: {MarkdownCharacters} chars, {InputTokens} input + {OutputTokens} output tokens")]
    private static partial void LogFinished(ILogger logger, Guid proposalId, ProposalStatus status, int markdownCharacters,
        long inputTokens, long outputTokens);

    // The exception's message may quote the provider's answer; only its type is logged.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Proposal: the AI provider failed ({ExceptionType})")]
    private static partial void LogProviderFailed(ILogger logger, string exceptionType);
}

/// <summary>
/// Thrown by <see cref="ProposalGenerator"/> after a transient provider failure, once the proposal is <c>pending</c> again, so
/// the job's retry schedule runs it later (docs/AI.md, "Proposals"). The provider's own message is left out (it may quote
/// the answer): the job's state keeps only the failure's exception type.
/// </summary>
public sealed class ProposalRetryException(Guid proposalId, int attempt, string failure)
    : Exception($"The model provider failed ({failure}) on attempt {attempt} of proposal {proposalId}; the job is retried.");
