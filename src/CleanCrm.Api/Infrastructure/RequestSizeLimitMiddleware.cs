using CleanCrm.Application.Common.Results;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace CleanCrm.Api.Infrastructure;

/// <summary>
/// The global request-body limit: a declared Content-Length over the limit is refused before reading anything (413
/// problem); Kestrel enforces the same limit on chunked bodies while they are read. An endpoint that declares
/// <see cref="IRequestSizeLimitMetadata"/> (only the CSV import, see ImportsEndpoints) gets its own limit instead.
/// </summary>
public sealed class RequestSizeLimitMiddleware(RequestDelegate next, IOptions<ApiOptions> options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        var exemption = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize;
        if (exemption is { } endpointLimit)
        {
            limit = endpointLimit;
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } raised)
            {
                raised.MaxRequestBodySize = endpointLimit;
            }
        }
        else if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature
            && feature.MaxRequestBodySize is null or > 0)
        {
            feature.MaxRequestBodySize = Math.Min(feature.MaxRequestBodySize ?? long.MaxValue, limit);
        }

        if (context.Request.ContentLength > limit)
        {
            var error = new Error(ErrorType.BadRequest, "payload_too_large",
                $"The request body is {context.Request.ContentLength} bytes; the limit is {limit} bytes.");
            var problem = Problems.From(error);
            problem.Status = StatusCodes.Status413PayloadTooLarge;
            problem.Title = Problems.TitleOf(413);
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>()
                .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
            return;
        }

        await next(context);
    }
}
