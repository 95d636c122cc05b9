using System.Globalization;
using CleanCrm.Api.Tenancy;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Namotion.Reflection;
using NJsonSchema;
using NSwag;
using NSwag.Generation.AspNetCore;
using NSwag.Generation.Processors;
using NSwag.Generation.Processors.Contexts;

namespace CleanCrm.Api.OpenApi;

/// <summary>
/// Describes every operation from its endpoint metadata in one place: summary/description, the problem responses its kind can
/// answer, the X-Org / If-Match headers, ETag / Retry-After / Location response headers and its security requirement.
/// </summary>
public sealed class OperationConventions : IOperationProcessor
{
    public const string ProblemMediaType = "application/problem+json";

    /// <summary>Anonymous entry points behind the per-IP limiter (AbuseProtection), so they can answer 429.</summary>
    private static readonly HashSet<string> RateLimitedAnonymous = ["Organizations_SignUp", "Invitations_Accept"];

    private static readonly Dictionary<string, string> ProblemDescriptions = new()
    {
        ["400"] = "The request is invalid: validation_failed with `errors` by field, or a malformed body/parameter (bad_request).",
        ["401"] = "No valid bearer access token.",
        ["402"] = "plan_limit_reached: the plan's limit (`errors` names it) is used up; upgrade or ask support.",
        ["403"] = "Not allowed: missing role or membership, suspended organization, or feature_disabled for a premium feature.",
        ["404"] = "No such resource (or organization) visible to the caller.",
        ["409"] = "Conflict with the current state (e.g. duplicate_value, or an organization that is not active).",
        ["412"] = "precondition_failed: If-Match does not name the current version; re-read the resource and retry.",
        ["413"] = "payload_too_large: the body is larger than this endpoint accepts.",
        ["415"] = "unsupported_media_type: send the body in one of the documented media types.",
        ["429"] = "Rate limited (per plan for organizations, per IP for anonymous entry points); retry after Retry-After seconds.",
        ["503"] = "Temporarily unavailable (organization database busy, provisioning or at its connection limit); retry after Retry-After.",
    };

    /// <summary>The list parameters every paged list shares (docs/API.md, "Lists").</summary>
    private static readonly Dictionary<string, string> ListParameters = new()
    {
        ["limit"] = "Page size, 1 to 200 (default 50).",
        ["cursor"] = "The nextCursor of the previous page (opaque, bound to its sort); absent for the first page.",
        ["sort"] = "A field of the resource, prefixed with - for descending (e.g. -createdAt).",
        ["q"] = "Search text, at most 200 characters.",
    };

    public bool Process(OperationProcessorContext context)
    {
        var operation = context.OperationDescription.Operation;
        var metadata = (context as AspNetCoreOperationProcessorContext)?.ApiDescription.ActionDescriptor.EndpointMetadata ?? [];
        operation.Summary ??= metadata.OfType<IEndpointSummaryMetadata>().LastOrDefault()?.Summary;
        operation.Description ??= metadata.OfType<IEndpointDescriptionMetadata>().LastOrDefault()?.Description;

        DescribeRequestBody(context, operation, metadata);
        var orgScoped = metadata.OfType<OrgScopedEndpointAttribute>().Any();
        var authenticated = metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any();
        var hasBody = operation.RequestBody is not null;
        var readsIfMatch = operation.Responses.ContainsKey("412");

        foreach (var parameter in operation.Parameters.Where(p => p.Kind == OpenApiParameterKind.Query))
        {
            // Query binding is case-insensitive; the contract (docs/API.md) spells the names in camelCase.
            parameter.Name = JsonNamingPolicyCamel(parameter.Name);
            parameter.Description ??= ListParameters.GetValueOrDefault(parameter.Name);
        }

        if (orgScoped)
        {
            operation.Parameters.Add(Header(OrgResolutionMiddleware.HeaderName, "The organization (slug or id). Required with a user's "
                + "token; an org-bound client-credentials token names its organization itself."));
        }

        if (readsIfMatch)
        {
            operation.Parameters.Add(Header("If-Match", "ETag of the version this change applies to (e.g. \"12\"), or * / absent for "
                + "an unconditional change; a stale one answers 412."));
        }

        var statuses = new SortedSet<string>(operation.Responses.Keys.Where(k => k[0] is '4' or '5'), StringComparer.Ordinal);
        if (hasBody || operation.Parameters.Count > 0)
        {
            statuses.Add("400");
        }

        if (hasBody)
        {
            statuses.UnionWith(["413", "415"]);
        }

        if (authenticated)
        {
            statuses.UnionWith(["401", "403"]);
        }

        if (orgScoped)
        {
            statuses.UnionWith(["403", "404", "429", "503"]);
        }

        if (operation.Parameters.Any(p => p.Kind == OpenApiParameterKind.Path))
        {
            statuses.Add("404");
        }

        if (operation.OperationId is { } id && RateLimitedAnonymous.Contains(id))
        {
            statuses.Add("429");
        }

        var problem =
            context.SchemaGenerator.GenerateWithReference<JsonSchema>(typeof(ApiProblem).ToContextualType(), context.SchemaResolver);
        foreach (var status in statuses)
        {
            var response = operation.Responses.TryGetValue(status, out var existing) ? existing : new OpenApiResponse();
            response.Description = ProblemDescriptions.GetValueOrDefault(status, "Problem details.");
            response.Content.Clear();
            response.Content[ProblemMediaType] = new OpenApiMediaType { Schema = Reference(problem) };
            if (status is "429" or "503")
            {
                response.Headers["Retry-After"] = HeaderSchema("Seconds to wait before retrying.", JsonObjectType.Integer);
            }

            operation.Responses[status] = response;
        }

        foreach (var (status, response) in operation.Responses.Where(r => r.Key[0] == '2'))
        {
            DescribeSuccess(status, response, metadata);
        }

        // An empty requirement object marks an anonymous operation explicitly (NSwag leaves out an empty list).
        operation.Security = authenticated
            ? [Requirement(SecuritySchemes.OAuth2, SecuritySchemes.ApiScope), Requirement(SecuritySchemes.Bearer)]
            : [new OpenApiSecurityRequirement()];
        Reorder(operation);
        return true;
    }

    private static void DescribeSuccess(string status, OpenApiResponse response, IList<object> metadata)
    {
        if (string.IsNullOrEmpty(response.Description))
        {
            response.Description = status switch
            {
                "201" => "Created; Location names the new resource.",
                "202" => "Accepted; the work continues in the background (Location names where to follow it, when set).",
                "204" => "Done; no body.",
                _ => "OK.",
            };
        }

        if (status is "201" or "202" && !response.Headers.ContainsKey("Location"))
        {
            response.Headers["Location"] = HeaderSchema("URL of the created resource (or of the work to follow).", JsonObjectType.String);
        }

        // A streamed file (Produces<Stream>(..., "application/octet-stream")) is bytes, not the Stream class's properties.
        if (metadata.OfType<IProducesResponseTypeMetadata>().Any(p => p.StatusCode.ToString(CultureInfo.InvariantCulture) == status
                && p.ContentTypes.Contains("application/octet-stream")))
        {
            response.Content.Clear();
            response.Content["application/octet-stream"] = new OpenApiMediaType
            {
                Schema = new JsonSchema { Type = JsonObjectType.String, Format = JsonFormatStrings.Binary },
            };
        }
    }

    /// <summary>Request bodies declared with Accepts: the declared media types, multipart as a form with one CSV file.</summary>
    private static void DescribeRequestBody(OperationProcessorContext context, OpenApiOperation operation, IList<object> metadata)
    {
        if (operation.RequestBody is not { } body
            || metadata.OfType<IAcceptsMetadata>().LastOrDefault() is not { RequestType: { } type } accepts
            || accepts.ContentTypes.Count == 0)
        {
            return;
        }

        body.Content.Clear();

        // Multipart first: generators (NSwag's TypeScript client) build the request from the first media type.
        foreach (var mediaType in accepts.ContentTypes.OrderBy(t => t == "multipart/form-data" ? 0 : 1))
        {
            body.Content[mediaType] = new OpenApiMediaType
            {
                Schema = mediaType == "multipart/form-data" ? CsvForm()
                    : type == typeof(string) ? new JsonSchema { Type = JsonObjectType.String, Description = "The CSV, UTF-8." }
                    : context.SchemaGenerator.GenerateWithReference<JsonSchema>(type.ToContextualType(), context.SchemaResolver),
            };
        }
    }

    private static JsonSchema CsvForm()
    {
        var form = new JsonSchema { Type = JsonObjectType.Object };
        form.Properties["file"] = new JsonSchemaProperty
        {
            Type = JsonObjectType.String,
            Format = JsonFormatStrings.Binary,
            Description = "The CSV file (UTF-8, header row first); the first file part is read.",
        };
        form.RequiredProperties.Add("file");
        return form;
    }

    private static void Reorder(OpenApiOperation operation)
    {
        var ordered = operation.Responses.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        operation.Responses.Clear();
        foreach (var (status, response) in ordered)
        {
            operation.Responses[status] = response;
        }
    }

    private static OpenApiSecurityRequirement Requirement(string scheme, params string[] scopes) => new() { [scheme] = scopes };

    private static JsonSchema Reference(JsonSchema schema) => new() { Reference = schema.ActualSchema };

    private static OpenApiParameter Header(string name, string description) => new()
    {
        Name = name,
        Kind = OpenApiParameterKind.Header,
        IsRequired = false,
        Description = description,
        Schema = new JsonSchema { Type = JsonObjectType.String },
    };

    internal static OpenApiHeader HeaderSchema(string description, JsonObjectType type) => new()
    {
        Description = description,
        Schema = new JsonSchema { Type = type },
    };

    private static string JsonNamingPolicyCamel(string name) => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(name);
}
