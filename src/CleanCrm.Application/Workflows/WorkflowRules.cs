using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Workflows;

/// <summary>The names a workflow may use (docs/API.md, "Workflows"): triggers, condition fields and operators, action types.</summary>
public static class WorkflowCatalog
{
    public const int MaxDepth = 3;
    public const int MaxConditions = 10;
    public const int MaxActions = 10;
    public const int MaxTextLength = 2000;

    public static class ActionTypes
    {
        public const string CreateTask = "create_task";
        public const string AssignOwner = "assign_owner";
        public const string UpdateField = "update_field";
        public const string AddTag = "add_tag";
        public const string EmailOwner = "email_owner";
        public const string PostToSlack = "post_to_slack";
        public const string CallWebhook = "call_webhook";
    }

    /// <summary>The record an event is about: deal, contact, task or meeting.</summary>
    public static string RecordOf(string eventType) => eventType switch
    {
        DomainEventTypes.ContactCreated => "contact",
        DomainEventTypes.TaskOverdue => "task",
        DomainEventTypes.MeetingSummarized => "meeting",
        _ => "deal",
    };

    /// <summary>Condition fields per record: <c>true</c> for a number (minor units), <c>false</c> for an id.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, bool>> ConditionFields =
        new Dictionary<string, IReadOnlyDictionary<string, bool>>
        {
            ["deal"] = new Dictionary<string, bool>
            {
                ["amount"] = true,
                ["probability"] = true,
                ["pipelineId"] = false,
                ["stageId"] = false,
                ["ownerId"] = false,
            },
            ["contact"] = new Dictionary<string, bool> { ["ownerId"] = false, ["companyId"] = false },
            ["task"] = new Dictionary<string, bool> { ["assigneeId"] = false, ["dealId"] = false, ["contactId"] = false },
            ["meeting"] = new Dictionary<string, bool> { ["dealId"] = false, ["companyId"] = false },
        };

    public static readonly IReadOnlyList<string> NumberOperators = ["eq", "neq", "gt", "gte", "lt", "lte"];
    public static readonly IReadOnlyList<string> IdOperators = ["eq", "neq"];

    /// <summary>The fields an <c>update_field</c> action may set, per record (the rest are not workflow business).</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> UpdatableFields =
        new Dictionary<string, IReadOnlyList<string>>
        {
            ["deal"] = ["name", "amount", "probability", "expectedCloseDate", "stageId"],
            ["contact"] = ["jobTitle", "phone", "source"],
            ["task"] = [],
            ["meeting"] = [],
        };

    /// <summary>Action types per record, with the properties each one uses.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> ActionProperties =
        new Dictionary<string, IReadOnlyList<string>>
        {
            [ActionTypes.CreateTask] = ["title", "assigneeId", "dueInDays"],
            [ActionTypes.AssignOwner] = ["ownerId"],
            [ActionTypes.UpdateField] = ["field", "value"],
            [ActionTypes.AddTag] = ["tagId"],
            [ActionTypes.EmailOwner] = ["subject", "text"],
            [ActionTypes.PostToSlack] = ["text"],
            [ActionTypes.CallWebhook] = ["endpointId"],
        };

    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> ActionsOf =
        new Dictionary<string, IReadOnlyList<string>>
        {
            ["deal"] = [.. ActionProperties.Keys],
            ["contact"] = [.. ActionProperties.Keys],
            ["task"] = [ActionTypes.CreateTask, ActionTypes.AssignOwner, ActionTypes.EmailOwner, ActionTypes.PostToSlack,
                ActionTypes.CallWebhook],
            ["meeting"] = [ActionTypes.CreateTask, ActionTypes.PostToSlack, ActionTypes.CallWebhook],
        };
}

/// <summary>The shape of a workflow; the names and references it uses are checked by <see cref="WorkflowDefinitions"/>.</summary>
public sealed class WorkflowFieldsValidator : AbstractValidator<WorkflowFields>
{
    public WorkflowFieldsValidator()
    {
        RuleFor(x => x.Name).Cascade(CascadeMode.Stop)
            .NotEmpty().WithMessage("is required.")
            .MaximumLength(200).WithMessage("must be at most 200 characters.")
            .OverridePropertyName("name");
        RuleFor(x => x.Trigger).NotNull().WithMessage("is required.").OverridePropertyName("trigger");
        RuleFor(x => x.Trigger!.Event).Cascade(CascadeMode.Stop)
            .NotEmpty().WithMessage("is required.")
            .Must(name => DomainEventTypes.All.Contains(name!))
            .WithMessage(x => $"'{x.Trigger!.Event}' is not an event; known events: {string.Join(", ", DomainEventTypes.All)}.")
            .When(x => x.Trigger is not null)
            .OverridePropertyName("trigger.event");
        RuleFor(x => x.Conditions!.Count).LessThanOrEqualTo(WorkflowCatalog.MaxConditions)
            .WithMessage($"has more than {WorkflowCatalog.MaxConditions} entries.").When(x => x.Conditions is not null)
            .OverridePropertyName("conditions");
        RuleFor(x => x.Actions).Cascade(CascadeMode.Stop)
            .NotEmpty().WithMessage("must hold at least one action.")
            .Must(a => a!.Count <= WorkflowCatalog.MaxActions).WithMessage($"has more than {WorkflowCatalog.MaxActions} entries.")
            .OverridePropertyName("actions");
    }
}

/// <summary>
/// Checks what a workflow names against the catalog and the organization's records: the stage of the trigger, each
/// condition's field, operator and value, each action's type, properties and references. The first problem is a 400
/// naming it (<c>validation_failed</c>, or <c>invalid_reference</c> for an id of no live record).
/// </summary>
public static class WorkflowDefinitions
{
    public static async Task<Error?> CheckAsync(ITenantDbContext db, WorkflowFields fields, CancellationToken cancellationToken)
    {
        var trigger = fields.Trigger!;
        var record = WorkflowCatalog.RecordOf(trigger.Event!);
        if (trigger.StageId is { } stageId)
        {
            if (trigger.Event != DomainEventTypes.DealStageChanged)
            {
                return Error.Validation("trigger.stageId", "stageId is only for the deal.stage_changed trigger.");
            }

            if (await CheckStageAsync(db, stageId, "trigger.stageId", cancellationToken) is { } stageError)
            {
                return stageError;
            }
        }

        var conditions = fields.Conditions ?? [];
        for (var i = 0; i < conditions.Count; i++)
        {
            if (await CheckConditionAsync(db, record, conditions[i], $"conditions[{i}]", cancellationToken) is { } error)
            {
                return error;
            }
        }

        var actions = fields.Actions!;
        for (var i = 0; i < actions.Count; i++)
        {
            if (await CheckActionAsync(db, record, actions[i], $"actions[{i}]", cancellationToken) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    private static async Task<Error?> CheckConditionAsync(ITenantDbContext db, string record, WorkflowCondition? condition, string at,
        CancellationToken cancellationToken)
    {
        if (condition is null)
        {
            return Error.Validation(at, $"{at} must be an object {{field, operator, value}}.");
        }

        var fields = WorkflowCatalog.ConditionFields[record];
        if (condition.Field is null || !fields.TryGetValue(condition.Field, out var isNumber))
        {
            return Error.Validation($"{at}.field",
                $"'{condition.Field}' is not a field a {record} condition can test; known fields: {string.Join(", ", fields.Keys)}.");
        }

        var operators = isNumber ? WorkflowCatalog.NumberOperators : WorkflowCatalog.IdOperators;
        if (condition.Operator is null || !operators.Contains(condition.Operator))
        {
            return Error.Validation($"{at}.operator",
                $"'{condition.Operator}' is not an operator for {condition.Field}; use one of {string.Join(", ", operators)}.");
        }

        if (isNumber)
        {
            return condition.Value.ValueKind == JsonValueKind.Number && condition.Value.TryGetInt64(out _)
                ? null
                : Error.Validation($"{at}.value", $"value must be an integer for {condition.Field}.");
        }

        if (condition.Value.ValueKind != JsonValueKind.String || !condition.Value.TryGetGuid(out var id))
        {
            return Error.Validation($"{at}.value", $"value must be an id (UUID string) for {condition.Field}.");
        }

        return condition.Field switch
        {
            "pipelineId" => await db.Pipelines.AnyAsync(p => p.Id == id && p.DeletedAt == null, cancellationToken)
                ? null
                : CrmReferences.InvalidReference($"{at}.value", $"'{id}' does not name a live pipeline of this organization."),
            "stageId" => await CheckStageAsync(db, id, $"{at}.value", cancellationToken),
            "ownerId" or "assigneeId" => await CrmReferences.CheckMemberAsync(db, id, $"{at}.value", cancellationToken),
            "companyId" => await CrmReferences.CheckCompanyAsync(db, id, $"{at}.value", cancellationToken),
            "contactId" => await CrmReferences.CheckContactAsync(db, id, $"{at}.value", cancellationToken),
            "dealId" => await CrmReferences.CheckDealAsync(db, id, $"{at}.value", cancellationToken),
            _ => null,
        };
    }

    private static async Task<Error?> CheckActionAsync(ITenantDbContext db, string record, WorkflowAction? action, string at,
        CancellationToken cancellationToken)
    {
        if (action is null)
        {
            return Error.Validation(at, $"{at} must be an object with a type.");
        }

        if (action.Type is null || !WorkflowCatalog.ActionProperties.TryGetValue(action.Type, out var uses))
        {
            return Error.Validation($"{at}.type",
                $"'{action.Type}' is not an action type; known types: {string.Join(", ", WorkflowCatalog.ActionProperties.Keys)}.");
        }

        if (!WorkflowCatalog.ActionsOf[record].Contains(action.Type))
        {
            return Error.Validation($"{at}.type", $"'{action.Type}' cannot act on the {record} of this trigger.");
        }

        var given = Given(action);
        if (given.FirstOrDefault(p => !uses.Contains(p)) is { } extra)
        {
            return Error.Validation($"{at}.{extra}", $"{extra} is not used by a {action.Type} action; it uses {string.Join(", ", uses)}.");
        }

        switch (action.Type)
        {
            case WorkflowCatalog.ActionTypes.CreateTask:
                if (string.IsNullOrWhiteSpace(action.Title) || action.Title.Length > 500)
                {
                    return Error.Validation($"{at}.title", "title is required, at most 500 characters.");
                }

                if (action.DueInDays is < 0 or > 365)
                {
                    return Error.Validation($"{at}.dueInDays", "dueInDays must be between 0 and 365.");
                }

                return await CrmReferences.CheckMemberAsync(db, action.AssigneeId, $"{at}.assigneeId", cancellationToken);
            case WorkflowCatalog.ActionTypes.AssignOwner:
                return action.OwnerId is null
                    ? Error.Validation($"{at}.ownerId", "ownerId is required.")
                    : await CrmReferences.CheckMemberAsync(db, action.OwnerId, $"{at}.ownerId", cancellationToken);
            case WorkflowCatalog.ActionTypes.UpdateField:
                return await CheckUpdateAsync(db, record, action, at, cancellationToken);
            case WorkflowCatalog.ActionTypes.AddTag:
                return action.TagId is not { } tagId
                    ? Error.Validation($"{at}.tagId", "tagId is required.")
                    : await db.Tags.AnyAsync(t => t.Id == tagId && t.DeletedAt == null, cancellationToken)
                        ? null
                        : CrmReferences.InvalidReference($"{at}.tagId", $"tagId '{tagId}' does not name a live tag of this organization.");
            case WorkflowCatalog.ActionTypes.EmailOwner:
                return action.Subject?.Length > 200 ? Error.Validation($"{at}.subject", "subject must be at most 200 characters.")
                    : action.Text?.Length > WorkflowCatalog.MaxTextLength
                        ? Error.Validation($"{at}.text", $"text must be at most {WorkflowCatalog.MaxTextLength} characters.")
                        : null;
            case WorkflowCatalog.ActionTypes.PostToSlack:
                return string.IsNullOrWhiteSpace(action.Text) || action.Text.Length > WorkflowCatalog.MaxTextLength
                    ? Error.Validation($"{at}.text", $"text is required, at most {WorkflowCatalog.MaxTextLength} characters.")
                    : null;
            default:
                return action.EndpointId is not { } endpointId
                    ? Error.Validation($"{at}.endpointId", "endpointId is required.")
                    : await db.WebhookEndpoints.AnyAsync(e => e.Id == endpointId && e.DeletedAt == null, cancellationToken)
                        ? null
                        : CrmReferences.InvalidReference($"{at}.endpointId",
                            $"endpointId '{endpointId}' does not name a webhook endpoint of this organization.");
        }
    }

    private static async Task<Error?> CheckUpdateAsync(ITenantDbContext db, string record, WorkflowAction action, string at,
        CancellationToken cancellationToken)
    {
        var fields = WorkflowCatalog.UpdatableFields[record];
        if (action.Field is null || !fields.Contains(action.Field))
        {
            return Error.Validation($"{at}.field",
                $"'{action.Field}' is not a {record} field a workflow may update; allowed: {string.Join(", ", fields)}.");
        }

        var value = action.Value ?? default;
        var isNull = action.Value is null || value.ValueKind == JsonValueKind.Null;
        var valid = action.Field switch
        {
            "amount" => isNull
                        || (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var amount) && amount >= 0),
            "probability" => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var p) && p is >= 0 and <= 100,
            "expectedCloseDate" => isNull
                                   || (value.ValueKind == JsonValueKind.String && DateOnly.TryParse(value.GetString(),
                                       System.Globalization.CultureInfo.InvariantCulture, out _)),
            "stageId" => value.ValueKind == JsonValueKind.String && value.TryGetGuid(out _),
            "name" => value.ValueKind == JsonValueKind.String && value.GetString()!.Trim().Length is > 0 and <= 200,
            _ => isNull || (value.ValueKind == JsonValueKind.String && value.GetString()!.Length <= 200),
        };
        if (!valid)
        {
            return Error.Validation($"{at}.value", action.Field switch
            {
                "amount" => "value must be a non-negative integer (minor units) or null.",
                "probability" => "value must be an integer from 0 to 100.",
                "expectedCloseDate" => "value must be a date (yyyy-MM-dd) or null.",
                "stageId" => "value must be a stage id.",
                "name" => "value must be a non-empty text of at most 200 characters.",
                _ => "value must be a text of at most 200 characters or null.",
            });
        }

        return action.Field == "stageId" ? await CheckStageAsync(db, value.GetGuid(), $"{at}.value", cancellationToken) : null;
    }

    private static async Task<Error?> CheckStageAsync(ITenantDbContext db, Guid stageId, string field,
        CancellationToken cancellationToken) =>
        await db.PipelineStages.AnyAsync(s => s.Id == stageId && s.DeletedAt == null, cancellationToken)
            ? null
            : CrmReferences.InvalidReference(field, $"'{stageId}' does not name a live pipeline stage of this organization.");

    private static IEnumerable<string> Given(WorkflowAction action)
    {
        if (action.Title is not null)
        {
            yield return "title";
        }

        if (action.AssigneeId is not null)
        {
            yield return "assigneeId";
        }

        if (action.DueInDays is not null)
        {
            yield return "dueInDays";
        }

        if (action.OwnerId is not null)
        {
            yield return "ownerId";
        }

        if (action.Field is not null)
        {
            yield return "field";
        }

        if (action.Value is not null && action.Value.Value.ValueKind != JsonValueKind.Undefined && action.Type != "update_field")
        {
            yield return "value";
        }

        if (action.TagId is not null)
        {
            yield return "tagId";
        }

        if (action.Subject is not null)
        {
            yield return "subject";
        }

        if (action.Text is not null)
        {
            yield return "text";
        }

        if (action.EndpointId is not null)
        {
            yield return "endpointId";
        }
    }
}
