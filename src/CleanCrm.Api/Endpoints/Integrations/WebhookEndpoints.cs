using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.Common.Results;
using CleanCrm.Infrastructure.Integrations.Webhooks;

namespace CleanCrm.Api.Endpoints.Integrations;

/// <summary>
/// The providers' webhooks (docs/INTEGRATIONS.md, "Webhooks"): the raw body is read as bytes and verified before anything
/// parses it, the delivery is recorded once in the inbox and processed by a job, so the answer is quick.
/// </summary>
public static class WebhookEndpoints
{
    /// <summary>Fathom sends the transcript with the meeting; long meetings exceed the API's default body limit.</summary>
    public const long FathomMaxBodyBytes = 8 * 1024 * 1024;

    public static IEndpointRouteBuilder MapIntegrationWebhooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/webhooks").WithTags("Webhooks").AllowAnonymous();
        group.MapPost("/fathom/{connectionId:guid}", async (Guid connectionId, HttpRequest request, WebhookReceiver receiver,
                    CancellationToken ct) =>
                Answer(await receiver.FathomAsync(connectionId, Header(request, "webhook-id"), Header(request, "webhook-timestamp"),
                    Header(request, "webhook-signature"), await BodyAsync(request, ct), ct)))
            .WithMetadata(new ImportsEndpoints.ImportUploadSizeLimit(FathomMaxBodyBytes))
            .WithName("Webhooks_ReceiveFathom")
            .Produces<WebhookAck>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Receive a Fathom webhook")
            .WithDescription("Fathom calls this with signed meeting content (Standard Webhooks); not for API clients.");
        group.MapPost("/savvycal/{connectionId:guid}", async (Guid connectionId, HttpRequest request, WebhookReceiver receiver,
                    CancellationToken ct) =>
                Answer(await receiver.SavvyCalAsync(connectionId, Header(request, "x-savvycal-signature"),
                    await BodyAsync(request, ct), ct)))
            .WithName("Webhooks_ReceiveSavvyCal")
            .Produces<WebhookAck>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Receive a SavvyCal webhook")
            .WithDescription("SavvyCal calls this with signed booking events; not for API clients.");
        group.MapPost("/slack/events", async (HttpRequest request, WebhookReceiver receiver, CancellationToken ct) =>
                Answer(await receiver.SlackAsync(Header(request, "X-Slack-Request-Timestamp"), Header(request, "X-Slack-Signature"),
                    await BodyAsync(request, ct), ct)))
            .WithName("Webhooks_ReceiveSlack")
            .Produces<WebhookAck>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Receive Slack events")
            .WithDescription("Slack's Events API calls this with signed events (and url_verification); not for API clients.");
        group.MapPost("/google/calendar", async (HttpRequest request, WebhookReceiver receiver, CancellationToken ct) =>
                Answer(await receiver.GoogleAsync(Header(request, "X-Goog-Channel-ID"), Header(request, "X-Goog-Channel-Token"),
                    Header(request, "X-Goog-Resource-State"), Header(request, "X-Goog-Message-Number"), ct)))
            .WithName("Webhooks_ReceiveGoogleCalendar")
            .Produces<WebhookAck>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Receive a Google Calendar push notification")
            .WithDescription("Google calls this when a watched calendar changes (channel id and token); not for API clients.");
        return app;
    }

    private static IResult Answer(WebhookAnswer answer) => answer.Receipt switch
    {
        WebhookReceipt.InvalidSignature => InvalidSignature(),
        WebhookReceipt.UnknownConnection => Problems.Result(new Error(ErrorType.NotFound, ErrorCodes.NotFound,
            "No integration connection matches this webhook.")),
        _ when answer.Challenge is not null => TypedResults.Ok(new SlackChallenge(answer.Challenge)),
        _ => TypedResults.Ok(new WebhookAck(true, answer.Receipt == WebhookReceipt.Duplicate)),
    };

    private static IResult InvalidSignature()
    {
        var problem = Problems.From(new Error(ErrorType.BadRequest, "invalid_signature",
            "The webhook's signature, channel token or timestamp does not verify; nothing was stored."));
        problem.Status = StatusCodes.Status401Unauthorized;
        problem.Title = Problems.TitleOf(StatusCodes.Status401Unauthorized);
        return Problems.Result(problem);
    }

    private static string? Header(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var value) ? value.ToString() : null;

    private static async Task<byte[]> BodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // The signature covers the exact bytes sent, so they are kept as they are, never re-serialized.
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }
}

public sealed record WebhookAck(bool Received, bool Duplicate);

public sealed record SlackChallenge(string Challenge);
