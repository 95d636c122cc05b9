using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Copilot;
using CleanCrm.Application.Copilot.Commands.DeleteCopilotConversation;
using CleanCrm.Application.Copilot.Commands.SendCopilotMessage;
using CleanCrm.Application.Copilot.Queries.GetCopilotConversation;
using CleanCrm.Application.Copilot.Queries.ListCopilotConversations;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>The AI copilot (docs/AI.md, docs/API.md "Copilot"): messages as Server-Sent Events or JSON, and conversations.</summary>
public static class CopilotEndpoints
{
    public static IEndpointRouteBuilder MapCopilot(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/copilot").WithTags("Copilot").RequireAuthorization().RequireOrg().WithCrmProblems();
        group.MapPost("/messages", async ([FromBody] CopilotMessageBody body, HttpContext http, IMediator mediator, CancellationToken ct) =>
            {
                var stream = !WantsJson(http.Request);
                var accepted = await mediator.Send(new SendCopilotMessage(body, stream), ct);
                if (!accepted.IsSuccess)
                {
                    return Problems.Result(accepted.Error!);
                }

                if (!stream)
                {
                    var answer = await accepted.Value.ExecuteAsync(NoEvents.Instance, ct);
                    return HttpResults.Ok(answer);
                }

                await StreamAsync(http.Response, accepted.Value, ct);
                return Results.Empty;
            })
            .WithName("Copilot_SendMessage")
            .WithSummary("Ask the copilot")
            .WithDescription("Sends a message to the AI copilot, which answers from the organization's CRM data through tools run as "
                + "the caller (feature ai_copilot; tokens are metered against the plan, 402 when used up; 503 ai_not_configured "
                + "without a provider). Answers as Server-Sent Events (delta, tool, done; error when it fails midway) unless "
                + "Accept is application/json. Without conversationId a new conversation starts.")
            .Produces<CopilotAnswer>(StatusCodes.Status200OK, "application/json", "text/event-stream")
            .ProducesProblem(StatusCodes.Status402PaymentRequired);

        group.MapGet("/conversations", async (IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListCopilotConversations(), ct)))
            .WithName("Copilot_ListConversations")
            .WithSummary("List my copilot conversations")
            .WithDescription("Returns the caller's own copilot conversations, most recently used first (the latest 100).")
            .Produces<Page<CopilotConversationDto>>();

        group.MapGet("/conversations/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetCopilotConversation(id), ct)))
            .WithName("Copilot_GetConversation")
            .WithSummary("Get a copilot conversation")
            .WithDescription("Returns one of the caller's conversations with its messages and their token counts; "
                + "another user's conversation is not found.")
            .Produces<CopilotConversationDetailDto>();

        group.MapDelete("/conversations/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.NoContent(await mediator.Send(new DeleteCopilotConversation(id), ct)))
            .WithName("Copilot_DeleteConversation")
            .WithSummary("Delete a copilot conversation")
            .WithDescription("Deletes one of the caller's conversations and its messages for good.")
            .Produces(StatusCodes.Status204NoContent);
        return app;
    }

    private static bool WantsJson(HttpRequest request)
    {
        var accepts = request.GetTypedHeaders().Accept;
        return accepts.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            && !accepts.Any(a => a.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase));
    }

    private static async Task StreamAsync(HttpResponse response, CopilotRun run, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers.XContentTypeOptions = "nosniff";
        // nginx (docker/) buffers proxied responses unless told not to; events must reach the client as they happen.
        response.Headers["X-Accel-Buffering"] = "no";
        var sink = new ServerSentEvents(response);
        var answer = await run.ExecuteAsync(sink, cancellationToken);
        if (answer.IsSuccess)
        {
            var done = answer.Value;
            await sink.WriteAsync("done", new { done.ConversationId, done.MessageId, done.Usage }, cancellationToken);
        }
        else
        {
            await sink.WriteAsync("error", Problems.From(answer.Error!), cancellationToken);
        }
    }

    /// <summary>Writes <c>event: name</c> / <c>data: json</c> frames and flushes each one.</summary>
    private sealed class ServerSentEvents(HttpResponse response) : ICopilotEventSink
    {
        public ValueTask OnDeltaAsync(string text, CancellationToken cancellationToken) =>
            new(WriteAsync("delta", new { text }, cancellationToken));

        public ValueTask OnToolAsync(CopilotToolCall call, CancellationToken cancellationToken) =>
            new(WriteAsync("tool", call, cancellationToken));

        public async Task WriteAsync<T>(string name, T data, CancellationToken cancellationToken)
        {
            await response.WriteAsync($"event: {name}\ndata: {JsonSerializer.Serialize(data, ApiJson.Options)}\n\n", cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
    }

    private sealed class NoEvents : ICopilotEventSink
    {
        public static readonly NoEvents Instance = new();

        public ValueTask OnDeltaAsync(string text, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnToolAsync(CopilotToolCall call, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
