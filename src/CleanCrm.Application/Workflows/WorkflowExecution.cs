using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Email;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Deals;
using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Workflows;

/// <summary>What a workflow action needs from outside the organization's database (Slack, mail, webhook payloads).</summary>
public interface IWorkflowEffects
{
    /// <summary>Posts to the organization's Slack channel now; the Slack error (e.g. <c>not_connected</c>) or null when posted.</summary>
    Task<string?> PostToSlackAsync(Guid organizationId, string text, CancellationToken cancellationToken);

    /// <summary>Queues a mail in the catalog mail outbox.</summary>
    Task EmailAsync(EmailMessage message, CancellationToken cancellationToken);

    /// <summary>The body of an outgoing webhook for the event, as subscriptions get it, plus the workflow and run.</summary>
    string WebhookBody(DomainEvent domainEvent, Guid workflowId, Guid runId);
}

/// <summary>Whether an event starts a workflow: its type, the stage of a stage trigger, and every condition on the record.</summary>
public static class WorkflowMatching
{
    public static bool Matches(Workflow workflow, DomainEvent domainEvent, JsonElement data)
    {
        if (workflow.TriggerEvent != domainEvent.Type)
        {
            return false;
        }

        if (workflow.TriggerStageId is { } stageId && Id(data, "stageId") != stageId)
        {
            return false;
        }

        return workflow.Conditions.All(c => Holds(c, data));
    }

    private static bool Holds(WorkflowCondition condition, JsonElement data)
    {
        if (condition.Value.ValueKind == JsonValueKind.Number)
        {
            long? actual = data.TryGetProperty(condition.Field, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;
            var expected = condition.Value.GetInt64();
            return condition.Operator switch
            {
                "eq" => actual == expected,
                "neq" => actual != expected,
                "gt" => actual > expected,
                "gte" => actual >= expected,
                "lt" => actual < expected,
                "lte" => actual <= expected,
                _ => false,
            };
        }

        var id = condition.Value.ValueKind == JsonValueKind.String && condition.Value.TryGetGuid(out var g) ? g : (Guid?)null;
        return condition.Operator switch
        {
            "eq" => id is not null && Id(data, condition.Field) == id,
            "neq" => Id(data, condition.Field) != id,
            _ => false,
        };
    }

    internal static Guid? Id(JsonElement data, string property) =>
        data.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String && v.TryGetGuid(out var id) ? id : null;
}

/// <summary>What one action did: a short detail of what it made or changed, or the error that failed it.</summary>
public sealed record WorkflowActionOutcome(string? Detail, string? Error, Guid? WebhookDeliveryId = null)
{
    public static WorkflowActionOutcome Fail(string error) => new(null, error);
}

/// <summary>
/// Runs one action of a run on the organization's database (docs/WORKFLOWS.md, "Actions"). The caller saves the action's
/// writes together with the run's record of it, in one transaction, so a retried run never repeats an action that committed.
/// Expected failures (a deleted record, Slack not connected, a disabled endpoint) are returned, not thrown.
/// </summary>
public sealed partial class WorkflowActionRunner(IWorkflowEffects effects, TimeProvider clock)
{
    public async Task<WorkflowActionOutcome> RunAsync(Guid organizationId, ITenantDbContext db, Workflow workflow, WorkflowRun run,
        DomainEvent domainEvent, WorkflowAction action, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(domainEvent.Data);
        var data = document.RootElement;
        var stamp = new WriteStamp(clock.GetUtcNow(), null);
        var record = WorkflowCatalog.RecordOf(domainEvent.Type);
        return action.Type switch
        {
            WorkflowCatalog.ActionTypes.CreateTask =>
                await CreateTaskAsync(db, workflow, run, record, data, action, stamp, cancellationToken),
            WorkflowCatalog.ActionTypes.AssignOwner => await AssignAsync(db, run, record, action.OwnerId!.Value, stamp, cancellationToken),
            WorkflowCatalog.ActionTypes.UpdateField => await UpdateAsync(db, run, record, action, stamp, cancellationToken),
            WorkflowCatalog.ActionTypes.AddTag => await TagAsync(db, run, record, action.TagId!.Value, stamp, cancellationToken),
            WorkflowCatalog.ActionTypes.EmailOwner => await EmailAsync(organizationId, db, workflow, run, record, data, action,
                cancellationToken),
            WorkflowCatalog.ActionTypes.PostToSlack => await effects.PostToSlackAsync(organizationId, Render(action.Text!, data),
                cancellationToken) is { } slackError
                ? WorkflowActionOutcome.Fail(slackError == "not_connected"
                    ? "Slack is not connected to this organization; connect it under Integrations."
                    : $"Slack refused the message: {slackError}.")
                : new WorkflowActionOutcome("Posted to Slack.", null),
            WorkflowCatalog.ActionTypes.CallWebhook => await CallWebhookAsync(db, workflow, run, domainEvent, action.EndpointId!.Value,
                stamp, cancellationToken),
            _ => WorkflowActionOutcome.Fail($"Unknown action type '{action.Type}'."),
        };
    }

    /// <summary>Replaces <c>{{field}}</c> with the field of the event's record (texts and numbers; anything else is empty).</summary>
    public static string Render(string template, JsonElement data) => Placeholder().Replace(template, match =>
        data.TryGetProperty(match.Groups[1].Value, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString()!,
                JsonValueKind.Number => value.GetRawText(),
                JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
                _ => string.Empty,
            }
            : string.Empty);

    private static async Task<WorkflowActionOutcome> CreateTaskAsync(ITenantDbContext db, Workflow workflow, WorkflowRun run, string record,
        JsonElement data, WorkflowAction action, WriteStamp stamp, CancellationToken cancellationToken)
    {
        var task = new CrmTask
        {
            Title = Truncate(Render(action.Title!, data), 500),
            Description = $"Created by workflow '{workflow.Name}' (run {run.Id}).",
            DueAt = action.DueInDays is { } days ? stamp.Now.AddDays(days) : null,
            Priority = TaskPriority.Normal,
            Status = CrmTaskStatus.Open,
            Origin = TaskOrigin.Manual,
        };
        Guid? owner;
        switch (record)
        {
            case "deal":
                task.DealId = run.EntityId;
                owner = await db.Deals.Where(d => d.Id == run.EntityId && d.DeletedAt == null).Select(d => d.OwnerId)
                    .FirstOrDefaultAsync(cancellationToken);
                break;
            case "contact":
                task.ContactId = run.EntityId;
                owner = await db.Contacts.Where(c => c.Id == run.EntityId && c.DeletedAt == null).Select(c => c.OwnerId)
                    .FirstOrDefaultAsync(cancellationToken);
                break;
            default:
                (task.CompanyId, task.ContactId, task.DealId) =
                    (WorkflowMatching.Id(data, "companyId"), WorkflowMatching.Id(data, "contactId"), WorkflowMatching.Id(data, "dealId"));
                owner = WorkflowMatching.Id(data, "assigneeId");
                break;
        }

        if (task.CompanyId is null && task.ContactId is null && task.DealId is null)
        {
            return WorkflowActionOutcome.Fail($"The {record} is linked to no company, contact or deal to attach the task to.");
        }

        task.AssigneeId = action.AssigneeId ?? owner;
        if (task.AssigneeId is { } assignee && !await db.Members.AnyAsync(m => m.Id == assignee && m.IsActive, cancellationToken))
        {
            return WorkflowActionOutcome.Fail($"The assignee '{assignee}' is no longer an active member.");
        }

        db.Tasks.Add(stamp.Stamp(task));
        return new WorkflowActionOutcome($"Created task {task.Id}.", null);
    }

    private static async Task<WorkflowActionOutcome> AssignAsync(ITenantDbContext db, WorkflowRun run, string record, Guid ownerId,
        WriteStamp stamp, CancellationToken cancellationToken)
    {
        if (!await db.Members.AnyAsync(m => m.Id == ownerId && m.IsActive, cancellationToken))
        {
            return WorkflowActionOutcome.Fail($"The owner '{ownerId}' is no longer an active member.");
        }

        switch (record)
        {
            case "deal" when await LiveAsync(db.Deals, run.EntityId, cancellationToken) is { } deal:
                deal.OwnerId = ownerId;
                stamp.Touch(deal);
                break;
            case "contact" when await LiveAsync(db.Contacts, run.EntityId, cancellationToken) is { } contact:
                contact.OwnerId = ownerId;
                stamp.Touch(contact);
                break;
            case "task" when await LiveAsync(db.Tasks, run.EntityId, cancellationToken) is { } task:
                task.AssigneeId = ownerId;
                stamp.Touch(task);
                break;
            default:
                return Gone(record, run.EntityId);
        }

        return new WorkflowActionOutcome($"Assigned the {record} to member {ownerId}.", null);
    }

    private static async Task<WorkflowActionOutcome> UpdateAsync(ITenantDbContext db, WorkflowRun run, string record, WorkflowAction action,
        WriteStamp stamp, CancellationToken cancellationToken)
    {
        var value = action.Value ?? default;
        var isNull = action.Value is null || value.ValueKind == JsonValueKind.Null;
        if (record == "contact")
        {
            if (await LiveAsync(db.Contacts, run.EntityId, cancellationToken) is not { } contact)
            {
                return Gone(record, run.EntityId);
            }

            var text = isNull ? null : value.GetString();
            switch (action.Field)
            {
                case "jobTitle":
                    contact.JobTitle = text;
                    break;
                case "phone":
                    contact.Phone = text;
                    break;
                default:
                    contact.Source = text;
                    break;
            }

            stamp.Touch(contact);
            return new WorkflowActionOutcome($"Set {action.Field} of the contact.", null);
        }

        if (await LiveAsync(db.Deals, run.EntityId, cancellationToken) is not { } deal)
        {
            return Gone(record, run.EntityId);
        }

        switch (action.Field)
        {
            case "name":
                deal.Name = value.GetString()!.Trim();
                break;
            case "amount":
                if (!isNull && deal.Currency is null)
                {
                    return WorkflowActionOutcome.Fail("The deal has no currency, so an amount cannot be set.");
                }

                deal.Amount = isNull ? null : value.GetInt64();
                break;
            case "probability":
                deal.Probability = value.GetInt32();
                break;
            case "expectedCloseDate":
                deal.ExpectedCloseDate = isNull ? null : DateOnly.Parse(value.GetString()!, CultureInfo.InvariantCulture);
                break;
            default:
                var stageId = value.GetGuid();
                var stage = await db.PipelineStages.AsNoTracking()
                    .FirstOrDefaultAsync(s => s.Id == stageId && s.DeletedAt == null, cancellationToken);
                if (stage is null || stage.PipelineId != deal.PipelineId)
                {
                    return WorkflowActionOutcome.Fail($"Stage '{stageId}' is not a live stage of the deal's pipeline.");
                }

                if (deal.StageId != stageId)
                {
                    DealStages.Enter(db, deal, stage, deal.StageId, null, stamp);
                }

                break;
        }

        stamp.Touch(deal);
        return new WorkflowActionOutcome($"Set {action.Field} of the deal.", null);
    }

    private static async Task<WorkflowActionOutcome> TagAsync(ITenantDbContext db, WorkflowRun run, string record, Guid tagId,
        WriteStamp stamp, CancellationToken cancellationToken)
    {
        if (!await db.Tags.AnyAsync(t => t.Id == tagId && t.DeletedAt == null, cancellationToken))
        {
            return WorkflowActionOutcome.Fail($"Tag '{tagId}' was deleted.");
        }

        var deal = record == "deal" ? run.EntityId : (Guid?)null;
        var contact = record == "contact" ? run.EntityId : (Guid?)null;
        var live = record == "deal"
            ? await db.Deals.AnyAsync(d => d.Id == run.EntityId && d.DeletedAt == null, cancellationToken)
            : await db.Contacts.AnyAsync(c => c.Id == run.EntityId && c.DeletedAt == null, cancellationToken);
        if (!live)
        {
            return Gone(record, run.EntityId);
        }

        if (await db.Taggings.AnyAsync(t => t.TagId == tagId && t.DealId == deal && t.ContactId == contact && t.DeletedAt == null,
                cancellationToken))
        {
            return new WorkflowActionOutcome("Already tagged.", null);
        }

        db.Taggings.Add(stamp.Stamp(new Tagging { TagId = tagId, DealId = deal, ContactId = contact }));
        return new WorkflowActionOutcome($"Tagged the {record} with {tagId}.", null);
    }

    private async Task<WorkflowActionOutcome> EmailAsync(Guid organizationId, ITenantDbContext db, Workflow workflow, WorkflowRun run,
        string record, JsonElement data, WorkflowAction action, CancellationToken cancellationToken)
    {
        var ownerId = record switch
        {
            "deal" => await db.Deals.Where(d => d.Id == run.EntityId && d.DeletedAt == null).Select(d => d.OwnerId)
                .FirstOrDefaultAsync(cancellationToken),
            "contact" => await db.Contacts.Where(c => c.Id == run.EntityId && c.DeletedAt == null).Select(c => c.OwnerId)
                .FirstOrDefaultAsync(cancellationToken),
            _ => await db.Tasks.Where(t => t.Id == run.EntityId && t.DeletedAt == null).Select(t => t.AssigneeId)
                .FirstOrDefaultAsync(cancellationToken),
        };
        var owner = ownerId is { } id
            ? await db.Members.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id && m.IsActive, cancellationToken)
            : null;
        if (owner is null)
        {
            return WorkflowActionOutcome.Fail($"The {record} has no owner who is an active member to email.");
        }

        var subject = Truncate(Render(action.Subject ?? $"Workflow \"{workflow.Name}\": {domainLabel(run.EventType)}", data), 200);
        var text = Render(action.Text ?? $"The workflow \"{workflow.Name}\" ran for {{{{name}}}}.", data);
        await effects.EmailAsync(WorkflowEmails.ToOwner(organizationId, owner.Email, owner.Name, subject, text), cancellationToken);
        return new WorkflowActionOutcome($"Emailed {owner.Email}.", null);

        static string domainLabel(string type) => type.Replace('.', ' ').Replace('_', ' ');
    }

    private async Task<WorkflowActionOutcome> CallWebhookAsync(ITenantDbContext db, Workflow workflow, WorkflowRun run,
        DomainEvent domainEvent, Guid endpointId, WriteStamp stamp, CancellationToken cancellationToken)
    {
        var endpoint = await db.WebhookEndpoints.AsNoTracking().FirstOrDefaultAsync(e => e.Id == endpointId, cancellationToken);
        if (endpoint is null || endpoint.DeletedAt is not null)
        {
            return WorkflowActionOutcome.Fail($"Webhook endpoint '{endpointId}' was deleted.");
        }

        if (endpoint.Status == WebhookEndpointStatus.Disabled)
        {
            return WorkflowActionOutcome.Fail($"Webhook endpoint '{endpointId}' is disabled ({endpoint.DisabledReason}).");
        }

        var delivery = new WebhookDelivery
        {
            EndpointId = endpoint.Id,
            EventId = domainEvent.Id,
            WorkflowRunId = run.Id,
            EventType = domainEvent.Type,
            Payload = effects.WebhookBody(domainEvent, workflow.Id, run.Id),
            Status = WebhookDeliveryStatus.Pending,
            CreatedAt = stamp.Now,
            NextAttemptAt = stamp.Now,
        };
        db.WebhookDeliveries.Add(delivery);
        return new WorkflowActionOutcome($"Queued webhook delivery {delivery.Id} to endpoint {endpoint.Id}.", null, delivery.Id);
    }

    private static Task<T?> LiveAsync<T>(DbSet<T> rows, Guid id, CancellationToken cancellationToken)
        where T : Domain.Common.TenantEntity =>
        rows.FirstOrDefaultAsync(r => r.Id == id && r.DeletedAt == null, cancellationToken);

    private static WorkflowActionOutcome Gone(string record, Guid id) => WorkflowActionOutcome.Fail($"The {record} '{id}' was deleted.");

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];

    [GeneratedRegex(@"\{\{\s*([A-Za-z]+)\s*\}\}")]
    private static partial Regex Placeholder();
}

public static class WorkflowEmails
{
    /// <summary>An <c>email_owner</c> action's mail to the owner of the record.</summary>
    public static EmailMessage ToOwner(Guid organizationId, string to, string name, string subject, string text)
    {
        var body = $"Hello {name},\n\n{text}\n\n(Sent by a CleanCrm workflow of your organization.)\n";
        var html = $"""
                    <!DOCTYPE html>
                    <html><body style="font-family: sans-serif">
                    <p>Hello {WebUtility.HtmlEncode(name)},</p>
                    <p>{WebUtility.HtmlEncode(text)}</p>
                    <p><small>Sent by a CleanCrm workflow of your organization.</small></p>
                    </body></html>
                    """;
        return new EmailMessage("workflow_email", to, subject, body, html, organizationId);
    }
}
