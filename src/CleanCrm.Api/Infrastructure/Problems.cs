using CleanCrm.Application.Common.Results;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Infrastructure;

/// <summary>Maps errors to RFC 9457 problem details, once, for every endpoint and middleware.</summary>
public static class Problems
{
    public const string TypeBase = "https://cleancrm.dev/problems/";

    /// <summary>Retry-After of a 503 problem whose producer did not set one.</summary>
    public const string DefaultRetryAfterSeconds = "30";

    public static int StatusOf(ErrorType type) => type switch
    {
        ErrorType.Validation or ErrorType.BadRequest => StatusCodes.Status400BadRequest,
        ErrorType.NotFound => StatusCodes.Status404NotFound,
        ErrorType.Conflict or ErrorType.NotReady => StatusCodes.Status409Conflict,
        ErrorType.Forbidden => StatusCodes.Status403Forbidden,
        ErrorType.PreconditionFailed => StatusCodes.Status412PreconditionFailed,
        ErrorType.PreconditionRequired => StatusCodes.Status428PreconditionRequired,
        ErrorType.PaymentRequired => StatusCodes.Status402PaymentRequired,
        ErrorType.Unavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorType.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
        ErrorType.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorType.Unprocessable => StatusCodes.Status422UnprocessableEntity,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static ProblemDetails From(Error error)
    {
        var status = StatusOf(error.Type);
        var problem = error.Errors is { Count: > 0 } errors
            ? new ValidationProblemDetails(errors.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal))
            : new ProblemDetails();
        problem.Status = status;
        problem.Type = TypeBase + error.Code;
        problem.Title = TitleOf(status);
        problem.Detail = error.Detail;
        problem.Extensions["code"] = error.Code;
        return problem;
    }

    public static IResult Result(Error error, Action<HttpContext>? decorate = null) => new ProblemResult(From(error), decorate);

    /// <summary>A problem whose status has no <see cref="ErrorType"/> (a webhook's 401).</summary>
    public static IResult Result(ProblemDetails problem) => new ProblemResult(problem, null);

    public static string TitleOf(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "An error occurred",
    };

    public static string CodeOf(int status) => status switch
    {
        400 => ErrorCodes.BadRequest,
        401 => "unauthorized",
        403 => ErrorCodes.Forbidden,
        404 => ErrorCodes.NotFound,
        405 => "method_not_allowed",
        406 => "not_acceptable",
        409 => ErrorCodes.Conflict,
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        429 => "rate_limited",
        503 => "service_unavailable",
        _ => "internal_error",
    };

    /// <summary>Writes the problem through <see cref="IProblemDetailsService"/> so traceId and content type are uniform.</summary>
    private sealed class ProblemResult(ProblemDetails problem, Action<HttpContext>? decorate) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = problem.Status ?? 500;
            decorate?.Invoke(httpContext);
            if (httpContext.Response.StatusCode == StatusCodes.Status503ServiceUnavailable
                && !httpContext.Response.Headers.ContainsKey("Retry-After"))
            {
                // Every 503 says when to come back (docs/API.md, "Errors"): a provider that failed (ai_provider_failed…)
                // is retried by the client's backoff, not at once.
                httpContext.Response.Headers.RetryAfter = DefaultRetryAfterSeconds;
            }

            var service = httpContext.RequestServices.GetRequiredService<IProblemDetailsService>();
            await service.WriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem });
        }
    }
}
