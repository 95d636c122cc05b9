using System.Diagnostics;
using System.Text.Json;
using CleanCrm.Application.Billing;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.Api.Infrastructure;

public static class ProblemDetailsSetup
{
    public static IServiceCollection AddCleanCrmProblemDetails(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            var status = problem.Status ?? context.HttpContext.Response.StatusCode;
            problem.Status = status;
            if (problem.Type is null || problem.Type.StartsWith("https://tools.ietf.org", StringComparison.Ordinal))
            {
                problem.Type = Problems.TypeBase + Problems.CodeOf(status);
                problem.Extensions["code"] = Problems.CodeOf(status);
            }

            problem.Title ??= Problems.TitleOf(status);
            if (problem.Title.StartsWith("One or more validation", StringComparison.Ordinal)
                || problem.Title == "An error occurred while processing your request.")
            {
                problem.Title = Problems.TitleOf(status);
            }

            problem.Detail ??= DefaultDetail(context.HttpContext, status);
            problem.Extensions["traceId"] = Activity.Current?.Id ?? context.HttpContext.TraceIdentifier;
        });
        // After AddProblemDetails, so the default JSON writer is asked first; this one answers when it declines (an Accept
        // without JSON, e.g. application/xml), so an error is still a problem document, never a 500 (docs/API.md, "Errors").
        services.AddSingleton<IProblemDetailsWriter, JsonProblemDetailsFallbackWriter>();
        services.AddExceptionHandler<ExceptionToProblemHandler>();
        return services;
    }

    private static string DefaultDetail(HttpContext context, int status) => status switch
    {
        404 => $"No resource at {context.Request.Method} {context.Request.Path}.",
        405 => $"{context.Request.Method} is not allowed on {context.Request.Path}.",
        415 => "Send the body as application/json.",
        401 => "Authentication is required: send a bearer access token.",
        403 => "You are not allowed to do this.",
        _ => Problems.TitleOf(status),
    };
}

/// <summary>Turns exceptions into problem details: input problems are 4xx with the reason, the rest a 500 without internals.</summary>
public sealed partial class ExceptionToProblemHandler(IProblemDetailsService problems,
    ILogger<ExceptionToProblemHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        // The server (max_connections) or the tenant role (CONNECTION LIMIT) refused a new session, possibly wrapped by EF:
        // the backend budget is exhausted for now, the same answer as a full process budget, never a 500.
        var refused = exception is TenantConnectionLimitException || IsServerConnectionLimit(exception);
        var unreachable = !refused && IsDatabaseUnreachable(exception);
        var problem = refused ? ConnectionLimit(httpContext)
            : unreachable ? DatabaseUnavailable(httpContext)
            : exception is PaymentProviderUnavailableException ? PaymentProviderUnavailable(httpContext)
            : Find<SecretStoreUnavailableException>(exception) is not null ? SecretStoreUnavailable(httpContext)
            : Map(exception, httpContext);
        if (problem.Status >= 500 && !refused)
        {
            LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(
            new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    private static ProblemDetails Map(Exception exception, HttpContext httpContext)
    {
        switch (exception)
        {
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                return Simple(413, "payload_too_large", "The request body is larger than this endpoint accepts.");
            case BadHttpRequestException bad:
                return Simple(bad.StatusCode, bad.StatusCode == 415 ? "unsupported_media_type" : ErrorCodes.BadRequest, Describe(bad));
            case JsonException json:
                return Simple(400, ErrorCodes.BadRequest, "The body is not valid JSON: " + JsonMessage(json));
            case TenantScopeRequiredException:
                return Problems.From(
                    new Error(ErrorType.BadRequest, ErrorCodes.OrgRequired, "Name the organization with the X-Org header (slug or id)."));
            case ConcurrencyConflictException:
                return Simple(409, ErrorCodes.Conflict,
                    "The record was changed by someone else at the same time; read it again and retry.");
            case Exception when RaceWithAnotherWrite(exception) is { } state:
                // A unique index or a serialization check caught two writers at once: the loser retries (docs/API.md).
                return Simple(409, ErrorCodes.Conflict, state == PostgresErrorCodes.UniqueViolation
                    ? "Another request created the same record at the same time; read it again and retry."
                    : "Another request changed the same data at the same time; retry.");
            case Exception when Unstorable(exception):
                // PostgreSQL text cannot hold NUL (\u0000): input, not a fault of the server.
                return Simple(400, ErrorCodes.BadRequest,
                    "The request contains a character that cannot be stored or searched for (such as \\u0000); remove it.");
            case OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested:
                return Simple(499, "client_closed_request", "The client closed the request.");
            default:
                return Simple(500, "internal_error", "An unexpected error occurred; it has been logged with this trace id.");
        }
    }

    private static ProblemDetails ConnectionLimit(HttpContext httpContext)
    {
        httpContext.Response.Headers.RetryAfter = "1";
        return Problems.From(new Error(ErrorType.Unavailable, ErrorCodes.TenantConnectionsExhausted,
            "The service is at its database connection limit; retry in a moment."));
    }

    // A database server that is down, restarting or shutting down (a tenant's or the catalog's): the request did not run,
    // the client may retry shortly (docs/reliability.md, scenario 3), never a 500.
    private static ProblemDetails DatabaseUnavailable(HttpContext httpContext)
    {
        httpContext.Response.Headers.RetryAfter = "2";
        return Simple(503, "database_unavailable", "The organization's database cannot be reached right now; retry in a moment.");
    }

    // Stripe failing or not answering (docs/BILLING.md): nothing to fix in the request; retry later.
    private static ProblemDetails PaymentProviderUnavailable(HttpContext httpContext)
    {
        httpContext.Response.Headers.RetryAfter = "30";
        return Simple(503, BillingErrors.BillingUnavailable,
            "The payment provider (Stripe) failed or did not answer in time; nothing was charged or changed. Retry in a moment.");
    }

    // The secret store (Key Vault) failed or did not answer while a tenant's database password or another secret was
    // needed: nothing ran; organizations whose connections this instance already holds are still served
    // (docs/MULTI_TENANCY.md, "Secret store"; docs/reliability.md, scenario 5b).
    private static ProblemDetails SecretStoreUnavailable(HttpContext httpContext)
    {
        httpContext.Response.Headers.RetryAfter = "5";
        return Simple(503, SecretStoreUnavailableException.Code,
            "The secret store holding the organization's credentials cannot be reached right now; nothing was changed. Retry in a moment.");
    }

    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static bool IsDatabaseUnreachable(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            switch (exception)
            {
                // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or shutting down);
                // class 08: connection exceptions.
                case PostgresException postgres when postgres.SqlState.StartsWith("57P0", StringComparison.Ordinal)
                                                     || postgres.SqlState.StartsWith("08", StringComparison.Ordinal):
                    return true;
                case PostgresException:
                    return false;
                case NpgsqlException { InnerException: System.Net.Sockets.SocketException or IOException or TimeoutException }:
                    return true;
            }
        }

        return false;
    }

    private static bool IsServerConnectionLimit(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is PostgresException { SqlState: PostgresErrorCodes.TooManyConnections })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The SQLSTATE when the exception is a write race a handler did not anticipate, else null.</summary>
    private static string? RaceWithAnotherWrite(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is PostgresException postgres && IsRace(postgres.SqlState))
            {
                return postgres.SqlState;
            }
        }

        return null;
    }

    private static bool Unstorable(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is PostgresException
                {
                    SqlState: PostgresErrorCodes.CharacterNotInRepertoire or PostgresErrorCodes.UntranslatableCharacter,
                })
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsRace(string sqlState) => sqlState is PostgresErrorCodes.UniqueViolation
        or PostgresErrorCodes.ExclusionViolation or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected;

    private static string Describe(BadHttpRequestException exception)
    {
        var inner = exception.InnerException is JsonException json ? " " + JsonMessage(json) : string.Empty;
        return exception.Message + inner;
    }

    private static string JsonMessage(JsonException json)
    {
        var field = json.Path is { Length: > 2 } path ? $" (at {path})" : string.Empty;
        return Common(json) + field;
    }

    private static string Common(JsonException json) => Application.Common.Json.JsonMergePatch.DescribeJsonError(json);

    private static ProblemDetails Simple(int status, string code, string detail)
    {
        var problem =
            new ProblemDetails { Status = status, Type = Problems.TypeBase + code, Title = Problems.TitleOf(status), Detail = detail };
        problem.Extensions["code"] = code;
        return problem;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception for {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}

/// <summary>
/// Writes a problem document as <c>application/problem+json</c> whatever the <c>Accept</c> header says, when the default
/// writer declined: errors are always problem documents (docs/API.md, "Errors").
/// </summary>
public sealed class JsonProblemDetailsFallbackWriter(
    IOptions<ProblemDetailsOptions> options, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        options.Value.CustomizeProblemDetails?.Invoke(context);
        var problem = context.ProblemDetails;
        return new ValueTask(context.HttpContext.Response.WriteAsJsonAsync(
            problem, problem.GetType(), json.Value.SerializerOptions, "application/problem+json", context.HttpContext.RequestAborted));
    }
}
