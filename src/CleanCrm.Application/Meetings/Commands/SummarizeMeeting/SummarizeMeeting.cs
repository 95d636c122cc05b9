using System.Text.Json;
using CleanCrm.Application.Common.Ai;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Application.Meetings.Commands.SummarizeMeeting;

/// <summary>
/// The answer of <c>POST /api/v1/meetings/{id}/summary</c>: the meeting with its summary, the action items, the tasks made.
/// </summary>
public sealed record MeetingSummaryResult(MeetingDto Meeting, IReadOnlyList<string> ActionItems, IReadOnlyList<Guid> TaskIds);

/// <summary>
/// Summarises a meeting that has a transcript and no summary yet (docs/AI.md, "Meeting summaries"): one metered model call
/// returns the summary and the action items; the summary is stored on the meeting (raising <c>meeting.summarized</c>) and,
/// with <c>smart_tasks</c>, each action item becomes a task with origin <c>smart</c> — in the same save, so a meeting is
/// summarised, and its tasks made, once.
/// </summary>
[RequiresPermission(Permission.CrmWrite)]
[RequiresFeature(PremiumFeatures.AiCopilot)]
public sealed record SummarizeMeeting(Guid MeetingId) : ICommand<Result<MeetingSummaryResult>>, IOrgScopedRequest;

public sealed partial class SummarizeMeetingHandler(
    ITenantDbContext db,
    ITenantContext tenant,
    ICallerContext caller,
    IAiProvider provider,
    MeteredAiCalls calls,
    IFeatures features,
    TimeProvider clock,
    ILogger<SummarizeMeetingHandler> logger) : ICommandHandler<SummarizeMeeting, Result<MeetingSummaryResult>>
{
    public const string AlreadySummarized = "meeting_already_summarized";
    public const string NoTranscript = "meeting_has_no_transcript";
    public const string InvalidAnswer = "ai_invalid_answer";

    private const string Purpose = "meeting-summary";
    private const int MaxTranscriptCharacters = 60_000;
    private const int MaxActionItems = 20;

    public async ValueTask<Result<MeetingSummaryResult>> Handle(SummarizeMeeting command, CancellationToken cancellationToken)
    {
        var meeting = await db.Meetings
            .Include(m => m.Attendees.Where(a => a.DeletedAt == null))
            .Include(m => m.Transcripts.Where(t => t.DeletedAt == null))
            .FirstOrDefaultAsync(m => m.Id == command.MeetingId && m.DeletedAt == null, cancellationToken);
        if (meeting is null)
        {
            return Error.NotFound("Meeting", command.MeetingId);
        }

        if (!provider.IsConfigured)
        {
            return AiErrors.NotConfiguredError();
        }

        if (!string.IsNullOrEmpty(meeting.Summary))
        {
            return Error.Conflict(AlreadySummarized, $"Meeting '{meeting.Id}' already has a summary; it is summarised once.");
        }

        var transcript = meeting.Transcripts.OrderBy(t => t.Source).Select(t => t.Content)
            .FirstOrDefault(t => !string.IsNullOrWhiteSpace(t));
        if (transcript is null)
        {
            return Error.Conflict(NoTranscript, $"Meeting '{meeting.Id}' has no transcript to summarise; add one with a PATCH first.");
        }

        var organizationId = tenant.Current!.OrganizationId;
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, SystemPrompt(tenant.Current.Name)),
            new(ChatRole.User, UserPrompt(meeting, transcript)),
        };
        var options = calls.OptionsWith();
        options.ResponseFormat = ChatResponseFormat.Json;
        var reservation = await calls.ReserveAsync(organizationId, Purpose, messages, options, cancellationToken);
        if (!reservation.IsSuccess)
        {
            return reservation.Error!;
        }

        ChatResponse? response = null;
        var failed = false;
        try
        {
            response = await provider.ChatClient.GetResponseAsync(messages, options, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            failed = true;
            LogProviderFailed(logger, exception.GetType().Name);
            return AiErrors.ProviderFailedError();
        }
        finally
        {
            await calls.SettleAsync(Purpose, reservation.Value, response?.Usage, failed, CancellationToken.None);
        }

        if (Parse(response.Text) is not { } answer)
        {
            LogInvalidAnswer(logger, response.Text.Length);
            return new Error(ErrorType.Unavailable, InvalidAnswer,
                "The model's answer was not the summary asked for (JSON with a summary); nothing was stored. Try again.");
        }

        var now = clock.GetUtcNow();
        meeting.Summary = answer.Summary;
        meeting.SummarizedAt = now;
        meeting.UpdatedAt = now;
        meeting.UpdatedBy = caller.UserId;
        var tasks = new List<CrmTask>();
        if (answer.ActionItems.Count > 0 && await features.IsEnabledAsync(organizationId, PremiumFeatures.SmartTasks, cancellationToken))
        {
            var emails = answer.ActionItems.Select(a => a.AssigneeEmail).OfType<string>().ToList();
            var members = await db.Members.AsNoTracking().Where(m => m.IsActive && emails.Contains(m.Email.ToLower()))
                .ToDictionaryAsync(m => m.Email.ToLowerInvariant(), m => m.Id, cancellationToken);
            var contactId = meeting.Attendees.Select(a => a.ContactId).FirstOrDefault(id => id is not null);
            foreach (var item in answer.ActionItems)
            {
                tasks.Add(new CrmTask
                {
                    Title = item.Description,
                    Description = $"From the summary of \"{meeting.Title}\"",
                    Priority = TaskPriority.Normal,
                    Status = CrmTaskStatus.Open,
                    Origin = TaskOrigin.Smart,
                    AssigneeId = item.AssigneeEmail is { } email && members.TryGetValue(email, out var member) ? member : null,
                    ContactId = contactId,
                    CompanyId = meeting.CompanyId,
                    DealId = meeting.DealId,
                    CreatedAt = now,
                    UpdatedAt = now,
                    CreatedBy = caller.UserId,
                    UpdatedBy = caller.UserId,
                });
            }

            db.Tasks.AddRange(tasks);
        }

        // The meeting's row version makes a concurrent summary of the same meeting fail instead of writing twice.
        await db.SaveChangesAsync(cancellationToken);
        return new MeetingSummaryResult(MeetingDto.From(meeting), [.. answer.ActionItems.Select(a => a.Description)],
            [.. tasks.Select(t => t.Id)]);
    }

    private sealed record ActionItem(string Description, string? AssigneeEmail);

    private sealed record Answer(string Summary, IReadOnlyList<ActionItem> ActionItems);

    /// <summary>The model's JSON (possibly inside a Markdown code fence); null when it holds no summary.</summary>
    private static Answer? Parse(string text)
    {
        var json = text.Trim();
        if (json.StartsWith("```", StringComparison.Ordinal))
        {
            var start = json.IndexOf('\n', StringComparison.Ordinal);
            var end = json.LastIndexOf("```", StringComparison.Ordinal);
            json = start > 0 && end > start ? json[(start + 1)..end] : json;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("summary", out var summary)
                || summary.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(summary.GetString()))
            {
                return null;
            }

            var items = new List<ActionItem>();
            if (root.TryGetProperty("actionItems", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in list.EnumerateArray().Take(MaxActionItems))
                {
                    var description = item.ValueKind switch
                    {
                        JsonValueKind.String => item.GetString(),
                        JsonValueKind.Object when item.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String =>
                            d.GetString(),
                        _ => null,
                    };
                    if (string.IsNullOrWhiteSpace(description))
                    {
                        continue;
                    }

                    var assignee = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("assigneeEmail", out var a)
                                   && a.ValueKind == JsonValueKind.String
                        ? a.GetString()?.Trim().ToLowerInvariant()
                        : null;
                    description = description.Trim();
                    items.Add(new ActionItem(description.Length <= 300 ? description : description[..300], assignee));
                }
            }

            return new Answer(summary.GetString()!.Trim(), items);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // The org's own name only; the meeting's own attendees and transcript follow in the user message.
    private static string SystemPrompt(string organization) =>
        $"You summarise sales meetings of the organization \"{organization}\". Answer with one JSON object and nothing else: "
        + "{\"summary\": \"<Markdown: what was discussed and agreed, a few short paragraphs or bullets>\", "
        + "\"actionItems\": [{\"description\": \"<one concrete follow-up>\", \"assigneeEmail\": \"<attendee email or null>\"}]}. "
        + "Use only what the transcript says; an empty actionItems list is fine.";

    private static string UserPrompt(Meeting meeting, string transcript)
    {
        var attendees = string.Join(", ", meeting.Attendees.Select(a => a.Name is null ? a.Email : $"{a.Name} <{a.Email}>"));
        var clipped = transcript.Length <= MaxTranscriptCharacters ? transcript : transcript[..MaxTranscriptCharacters];
        return $"Meeting \"{meeting.Title}\" on {meeting.StartsAt:yyyy-MM-dd}. "
            + $"Attendees: {(attendees.Length == 0 ? "unknown" : attendees)}."
            + $"\n\nTranscript:\n{clipped}";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Meeting summary: the AI provider failed ({ExceptionType})")]
    private static partial void LogProviderFailed(ILogger logger, string exceptionType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Meeting summary: the model's answer ({Characters} chars) held no summary")]
    private static partial void LogInvalidAnswer(ILogger logger, int characters);
}
