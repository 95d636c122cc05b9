using System.Globalization;
using CleanCrm.Application.Common.Results;

namespace CleanCrm.Api.Infrastructure;

/// <summary>Maps use-case results to HTTP, with ETags from row versions (docs/API.md, "Concurrency").</summary>
public static class HttpResults
{
    public static IResult Ok<T>(Result<T> result) => result.IsSuccess ? TypedResults.Ok(result.Value) : Problems.Result(result.Error!);

    public static IResult OkWithETag<T>(Result<T> result, Func<T, uint> version) =>
        result.IsSuccess ? new WithETag(TypedResults.Ok(result.Value), version(result.Value)) : Problems.Result(result.Error!);

    public static IResult Created<T>(Result<T> result, Func<T, string> location, Func<T, uint> version) =>
        result.IsSuccess
            ? new WithETag(TypedResults.Created(location(result.Value), result.Value), version(result.Value))
            : Problems.Result(result.Error!);

    public static IResult NoContent<T>(Result<T> result) => result.IsSuccess ? TypedResults.NoContent() : Problems.Result(result.Error!);

    public static string ETag(uint version) => $"\"{version.ToString(CultureInfo.InvariantCulture)}\"";

    /// <summary>Reads If-Match: absent or <c>*</c> → no precondition; a quoted version → that version; else invalid.</summary>
    public static bool TryReadIfMatch(HttpRequest request, out uint? version)
    {
        version = null;
        var header = request.Headers.IfMatch.ToString().Trim();
        if (header.Length == 0 || header == "*")
        {
            return true;
        }

        var tag = header.StartsWith("W/", StringComparison.Ordinal) ? header[2..] : header;
        if (tag.Length > 2 && tag[0] == '"' && tag[^1] == '"'
            && uint.TryParse(tag[1..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            version = parsed;
            return true;
        }

        return false;
    }

    public static IResult InvalidIfMatch() =>
        Problems.Result(Error.Validation("If-Match", "If-Match must be an ETag returned by this API, e.g. \"1234\", or *."));

    private sealed class WithETag(IResult inner, uint version) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.ETag = ETag(version);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
