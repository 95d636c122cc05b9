using System.Text.Json;
using CleanCrm.Application.Activities.Queries.ListActivities;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Companies.Queries.ListCompanies;
using CleanCrm.Application.Contacts.Queries.ListContacts;
using CleanCrm.Application.Deals.Queries.GetDeal;
using CleanCrm.Application.Deals.Queries.ListDeals;
using CleanCrm.Application.Meetings.Queries.ListMeetings;
using CleanCrm.Application.Pipelines.Queries.GetPipelineSummary;
using CleanCrm.Application.Tasks.Queries.ListTasks;
using Mediator;
using Microsoft.Extensions.AI;

namespace CleanCrm.Application.Copilot;

/// <summary>
/// The tools the copilot's model may call. Each is an ordinary query sent through the mediator as the caller, so the
/// same authorization, feature and tenant scope apply as on the HTTP routes: the model can read nothing the caller
/// could not read with the API (docs/AI.md, "Tools").
/// </summary>
public sealed class CopilotTools(ISender mediator)
{
    private const int MaxResults = 10;

    public static readonly IList<AITool> Declarations =
    [
        Declare("search_contacts", "Full-text search over the organization's contacts (name, email, job title).", QuerySchema),
        Declare("search_companies", "Full-text search over the organization's companies (name, domain, industry).", QuerySchema),
        Declare("search_deals", "Full-text search over the organization's deals by name.", QuerySchema),
        Declare("get_deal", "One deal with its latest activities, meetings and tasks.",
            """{"type":"object","properties":{"dealId":{"type":"string","format":"uuid"}},"required":["dealId"]}"""),
        Declare("pipeline_summary", "Open deals per stage of a pipeline (the default one without pipelineId), amounts per currency.",
            """{"type":"object","properties":{"pipelineId":{"type":"string","format":"uuid"}}}"""),
    ];

    private const string QuerySchema =
        """{"type":"object","properties":{"query":{"type":"string","description":"search words"}},"required":["query"]}""";

    /// <summary>Runs one tool call and returns the JSON the model reads; failures are answered as <c>{"error": …}</c>.</summary>
    public async Task<string> InvokeAsync(FunctionCallContent call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var arguments = call.Arguments ?? new Dictionary<string, object?>();
        return call.Name switch
        {
            "search_contacts" => await SearchAsync(arguments,
                q => mediator.Send(new ListContacts(Limit: MaxResults, Q: q), cancellationToken)),
            "search_companies" => await SearchAsync(arguments,
                q => mediator.Send(new ListCompanies(Limit: MaxResults, Q: q), cancellationToken)),
            "search_deals" => await SearchAsync(arguments,
                q => mediator.Send(new ListDeals(Limit: MaxResults, Q: q), cancellationToken)),
            "get_deal" => await GetDealAsync(arguments, cancellationToken),
            "pipeline_summary" => await PipelineSummaryAsync(arguments, cancellationToken),
            _ => Failure($"unknown tool '{call.Name}'"),
        };
    }

    private static async Task<string> SearchAsync<T>(IDictionary<string, object?> arguments, Func<string, ValueTask<Result<T>>> search)
    {
        var query = Text(arguments, "query");
        if (string.IsNullOrWhiteSpace(query) || query.Length > 200)
        {
            return Failure("query is required and at most 200 characters");
        }

        return Answer(await search(query));
    }

    private async Task<string> GetDealAsync(IDictionary<string, object?> arguments, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(Text(arguments, "dealId"), out var dealId))
        {
            return Failure("dealId must be a UUID");
        }

        var deal = await mediator.Send(new GetDeal(dealId), cancellationToken);
        if (!deal.IsSuccess)
        {
            return Answer(deal);
        }

        var activities = await mediator.Send(new ListActivities(Limit: MaxResults, DealId: dealId), cancellationToken);
        var meetings = await mediator.Send(new ListMeetings(Limit: MaxResults, DealId: dealId), cancellationToken);
        var tasks = await mediator.Send(new ListTasks(Limit: MaxResults, DealId: dealId), cancellationToken);
        return JsonSerializer.Serialize(new
        {
            deal = deal.Value,
            activities = activities.IsSuccess ? activities.Value.Items : [],
            // Transcripts can be long; the model gets the meeting, not its recording.
            meetings = meetings.IsSuccess ? meetings.Value.Items.Select(m => m with { Transcript = null }).ToList() : [],
            tasks = tasks.IsSuccess ? tasks.Value.Items : [],
        }, ApiJson.Options);
    }

    private async Task<string> PipelineSummaryAsync(IDictionary<string, object?> arguments, CancellationToken cancellationToken)
    {
        Guid? pipelineId = null;
        if (Text(arguments, "pipelineId") is { Length: > 0 } text)
        {
            if (!Guid.TryParse(text, out var parsed))
            {
                return Failure("pipelineId must be a UUID");
            }

            pipelineId = parsed;
        }

        return Answer(await mediator.Send(new GetPipelineSummary(pipelineId), cancellationToken));
    }

    private static string Answer<T>(Result<T> result) => result.IsSuccess
        ? JsonSerializer.Serialize(result.Value, ApiJson.Options)
        : Failure(result.Error!.Code == "not_found" ? "not found" : result.Error.Detail);

    private static string Failure(string message) => JsonSerializer.Serialize(new { error = message }, ApiJson.Options);

    private static string? Text(IDictionary<string, object?> arguments, string name) =>
        arguments.TryGetValue(name, out var value) ? value switch
        {
            string text => text,
            JsonElement { ValueKind: JsonValueKind.String } element => element.GetString(),
            _ => null,
        } : null;

    private static AIFunctionDeclaration Declare(string name, string description, string schema)
    {
        using var document = JsonDocument.Parse(schema);
        return AIFunctionFactory.CreateDeclaration(name, description, document.RootElement.Clone());
    }
}
