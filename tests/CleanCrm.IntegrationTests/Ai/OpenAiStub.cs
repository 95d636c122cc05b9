using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Util;

namespace CleanCrm.IntegrationTests.Ai;

/// <summary>
/// A WireMock server speaking OpenAI's Chat Completions wire format at <c>POST /v1/chat/completions</c>: a JSON
/// <c>chat.completion</c>, or (<c>"stream": true</c>) <c>chat.completion.chunk</c> events as <c>data: {...}</c> lines ending
/// with <c>data: [DONE]</c> and a final usage chunk. What it answers is scripted per trigger word in the user's message:
/// first a <c>tool_calls</c> round when a tool is scripted, then the final text once the tool result came back.
/// Every call reports <see cref="PromptTokens"/> + <see cref="CompletionTokens"/>.
/// </summary>
internal sealed class OpenAiStub : IDisposable
{
    public const string ApiKey = "stub-ai-key-not-a-secret";
    public const string Model = "gpt-stub";
    public const int PromptTokens = 40;
    public const int CompletionTokens = 10;

    private readonly ConcurrentDictionary<string, Scripted> _scripts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(JsonObject Body, string? Authorization)> _requests = new();
    private int _sequence;

    public OpenAiStub()
    {
        Server = WireMockServer.Start();
        Server.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithCallback(Answer));
    }

    public WireMockServer Server { get; }

    /// <summary>The base URL the product is configured with (<c>CleanCrm:Ai:Endpoint</c>).</summary>
    public string Endpoint => Server.Url + "/v1";

    public IReadOnlyList<(JsonObject Body, string? Authorization)> Requests => [.. _requests];

    /// <summary>Requests whose user message contains <paramref name="trigger"/>.</summary>
    public IReadOnlyList<JsonObject> RequestsFor(string trigger) =>
        [.. Requests.Select(r => r.Body).Where(b => LastUserText(b).Contains(trigger, StringComparison.Ordinal))];

    /// <summary>
    /// Answers a message containing <paramref name="trigger"/>: a tool call first when one is given, then the text; after
    /// <paramref name="delay"/> when one is given (a slow provider).
    /// </summary>
    public void Script(string trigger, string text, string? tool = null, JsonObject? arguments = null, int failWith = 0,
        TimeSpan? delay = null) =>
        _scripts[trigger] = new Scripted(text, tool, arguments, failWith, delay ?? TimeSpan.Zero);

    private sealed record Scripted(string Text, string? Tool, JsonObject? Arguments, int FailWith, TimeSpan Delay);

    private ResponseMessage Answer(IRequestMessage request)
    {
        var body = JsonNode.Parse(request.Body!)!.AsObject();
        _requests.Enqueue((body, request.Headers?.TryGetValue("Authorization", out var auth) == true ? auth.ToString() : null));
        var user = LastUserText(body);
        var script = _scripts.FirstOrDefault(s => user.Contains(s.Key, StringComparison.Ordinal)).Value
            ?? new Scripted("I have no script for this.", null, null, 0, TimeSpan.Zero);
        if (script.Delay > TimeSpan.Zero)
        {
            // WireMock's callback is synchronous: this request's thread waits, the others are served meanwhile.
            Thread.Sleep(script.Delay);
        }

        if (script.FailWith > 0)
        {
            return Json(script.FailWith, new JsonObject
            {
                ["error"] = new JsonObject { ["message"] = "The stub was told to fail.", ["type"] = "server_error", ["code"] = null },
            });
        }

        var id = $"chatcmpl-stub{Interlocked.Increment(ref _sequence)}";
        var toolRound = script.Tool is not null && !HasToolResultAfterLastUser(body);
        var stream = body["stream"]?.GetValue<bool>() == true;
        if (!stream)
        {
            JsonObject message = toolRound
                ? new JsonObject
                {
                    ["role"] = "assistant",
                    ["content"] = null,
                    ["tool_calls"] = new JsonArray(ToolCall(id, script, index: null, withArguments: true)),
                }
                : new JsonObject { ["role"] = "assistant", ["content"] = script.Text };
            return Json(200, new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion",
                ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                ["model"] = Model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = message,
                    ["logprobs"] = null,
                    ["finish_reason"] = toolRound ? "tool_calls" : "stop",
                }),
                ["usage"] = Usage(),
            });
        }

        var chunks = new List<JsonObject>();
        if (toolRound)
        {
            var opening = ToolCall(id, script, index: 0, withArguments: false);
            chunks.Add(Chunk(id, new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(opening) }));
            // Arguments arrive in pieces, as OpenAI sends them.
            var arguments = (script.Arguments ?? []).ToJsonString();
            var half = arguments.Length / 2;
            foreach (var piece in new[] { arguments[..half], arguments[half..] })
            {
                chunks.Add(Chunk(id, new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["index"] = 0,
                        ["function"] = new JsonObject { ["arguments"] = piece },
                    }),
                }));
            }

            chunks.Add(Chunk(id, new JsonObject(), "tool_calls"));
        }
        else
        {
            chunks.Add(Chunk(id, new JsonObject { ["role"] = "assistant", ["content"] = string.Empty }));
            foreach (var word in script.Text.Split(' '))
            {
                chunks.Add(Chunk(id, new JsonObject { ["content"] = chunks.Count == 1 ? word : " " + word }));
            }

            chunks.Add(Chunk(id, new JsonObject(), "stop"));
        }

        var usage = Chunk(id, null);
        usage["choices"] = new JsonArray();
        usage["usage"] = Usage();
        chunks.Add(usage);
        var sse = new StringBuilder();
        foreach (var chunk in chunks)
        {
            sse.Append("data: ").Append(chunk.ToJsonString()).Append("\n\n");
        }

        sse.Append("data: [DONE]\n\n");
        return new ResponseMessage
        {
            StatusCode = 200,
            Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("text/event-stream") },
            BodyData = new BodyData { BodyAsString = sse.ToString(), DetectedBodyType = BodyType.String },
        };
    }

    private static JsonObject ToolCall(string id, Scripted script, int? index, bool withArguments)
    {
        var call = new JsonObject
        {
            ["id"] = $"call_{id}",
            ["type"] = "function",
            ["function"] = new JsonObject
            {
                ["name"] = script.Tool,
                ["arguments"] = withArguments ? (script.Arguments ?? []).ToJsonString() : string.Empty,
            },
        };
        if (index is { } i)
        {
            call["index"] = i;
        }

        return call;
    }

    private static JsonObject Chunk(string id, JsonObject? delta, string? finishReason = null) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["model"] = Model,
        ["choices"] = delta is null
            ? new JsonArray()
            : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finishReason }),
    };

    private static JsonObject Usage() => new()
    {
        ["prompt_tokens"] = PromptTokens,
        ["completion_tokens"] = CompletionTokens,
        ["total_tokens"] = PromptTokens + CompletionTokens,
    };

    public static string LastUserText(JsonObject body) =>
        body["messages"]!.AsArray().LastOrDefault(m => m!["role"]!.GetValue<string>() == "user")?["content"] switch
        {
            JsonValue text => text.GetValue<string>(),
            JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>())),
            _ => string.Empty,
        };

    /// <summary>The tool results the model was sent (role <c>tool</c>), as text.</summary>
    public static IReadOnlyList<string> ToolResults(JsonObject body) =>
        [.. body["messages"]!.AsArray().Where(m => m!["role"]!.GetValue<string>() == "tool").Select(m => m!["content"] switch
        {
            JsonValue text => text.GetValue<string>(),
            JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>())),
            _ => string.Empty,
        })];

    private static bool HasToolResultAfterLastUser(JsonObject body)
    {
        var messages = body["messages"]!.AsArray();
        var lastUser = messages.ToList().FindLastIndex(m => m!["role"]!.GetValue<string>() == "user");
        return messages.Skip(lastUser + 1).Any(m => m!["role"]!.GetValue<string>() == "tool");
    }

    private static ResponseMessage Json(int status, JsonNode body) => new()
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json") },
        BodyData = new BodyData { BodyAsString = body.ToJsonString(), DetectedBodyType = BodyType.String },
    };

    public void Dispose() => Server.Dispose();
}
