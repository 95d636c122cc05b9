using NJsonSchema;
using NSwag;
using NSwag.Generation.Processors;
using NSwag.Generation.Processors.Contexts;

namespace CleanCrm.Api.OpenApi;

/// <summary>The OAuth2 and bearer security schemes; URLs from the configured issuer (CleanCrm:Identity:Issuer) or relative.</summary>
public static class SecuritySchemes
{
    public const string OAuth2 = "oauth2";
    public const string Bearer = "bearer";
    public const string ApiScope = "api";
}

/// <summary>
/// Whole-document conventions: security schemes, the ProblemDetails schema name, ETag headers on versioned resources, required
/// response fields (the API writes every property, null included) and examples for the main resources.
/// </summary>
public sealed class DocumentConventions(Uri? issuer) : IDocumentProcessor
{
    public void Process(DocumentProcessorContext context)
    {
        var document = context.Document;
        AddSecuritySchemes(document);
        RemoveUnreferencedSchemas(document);
        RenameProblemSchema(document.Components.Schemas);
        AddETagHeaders(document);
        MarkResponseFieldsRequired(document);
        Examples.Apply(document.Components.Schemas);
        TypeNullableEnumReferences(document.Components.Schemas.Values);
    }

    /// <summary>
    /// NSwag writes a nullable enum or object property as <c>{nullable, oneOf:[$ref]}</c>; OpenAPI 3.0 only honours nullable
    /// next to a type, so the enum's type (string, as the API writes enums) or <c>object</c> is added. A nullable property of
    /// any JSON value (<c>{nullable}</c> alone) loses the flag, which adds nothing to an untyped schema.
    /// </summary>
    private static void TypeNullableEnumReferences(IEnumerable<JsonSchema> schemas)
    {
        foreach (var property in schemas.SelectMany(s => s.Properties.Values))
        {
            if (property.IsNullableRaw == true && property.Type == JsonObjectType.None && !property.HasReference
                && property.OneOf.Count == 0 && property.AnyOf.Count == 0 && property.AllOf.Count == 0)
            {
                // Any JSON value (a JsonElement?, e.g. a workflow action's value): an untyped schema already admits null,
                // and OpenAPI 3.0 allows nullable only next to a type.
                property.IsNullableRaw = null;
            }
            else if (property.IsNullableRaw == true && property.Type == JsonObjectType.None && property.OneOf.Count == 1)
            {
                var target = property.OneOf.Single().ActualSchema;
                if (target.IsEnumeration)
                {
                    property.Type = target.Type;
                }
                else if (target.Type.HasFlag(JsonObjectType.Object))
                {
                    property.Type = JsonObjectType.Object;
                }
            }
        }
    }

    private void AddSecuritySchemes(OpenApiDocument document)
    {
        var authorize = Url("/connect/authorize");
        var token = Url("/connect/token");
        var scopes = new Dictionary<string, string>
        {
            [SecuritySchemes.ApiScope] = "Call the CleanCrm API.",
            ["openid"] = "Sign in (OpenID Connect).",
            ["profile"] = "The user's name.",
            ["email"] = "The user's email address.",
            ["offline_access"] = "A refresh token.",
        };
        document.Components.SecuritySchemes[SecuritySchemes.OAuth2] = new OpenApiSecurityScheme
        {
            Type = OpenApiSecuritySchemeType.OAuth2,
            Description = "OAuth 2.0 on this server. Browser apps (client cleancrm-spa) use the authorization code flow with PKCE "
                + "(S256 code_challenge required); org-bound API clients use client credentials with their client id and secret.",
            Flows = new OpenApiOAuthFlows
            {
                AuthorizationCode = new OpenApiOAuthFlow
                {
                    AuthorizationUrl = authorize,
                    TokenUrl = token,
                    RefreshUrl = token,
                    Scopes = scopes,
                },
                ClientCredentials = new OpenApiOAuthFlow
                {
                    TokenUrl = token,
                    Scopes = new Dictionary<string, string> { [SecuritySchemes.ApiScope] = scopes[SecuritySchemes.ApiScope] },
                },
            },
        };
        document.Components.SecuritySchemes[SecuritySchemes.Bearer] = new OpenApiSecurityScheme
        {
            Type = OpenApiSecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "An access token from /connect/token, sent as Authorization: Bearer <token>.",
        };
    }

    private string Url(string path) => issuer is null ? path : new Uri(issuer, path).ToString();

    private static void RenameProblemSchema(IDictionary<string, JsonSchema> schemas)
    {
        // The problem responses all reference ApiProblem (OperationConventions); the framework's own types are gone by now.
        if (!schemas.ContainsKey("ProblemDetails") && schemas.Remove(nameof(ApiProblem), out var problem))
        {
            // RFC 9457 lets problem types add members; clients must not break on one they do not know.
            problem.AllowAdditionalProperties = true;
            schemas["ProblemDetails"] = problem;
        }
    }

    private static void AddETagHeaders(OpenApiDocument document)
    {
        var versioned = document.Paths.Where(p => p.Value.Values.Any(o => o.Responses.ContainsKey("412"))).Select(p => p.Key).ToHashSet();
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item)
            {
                var carries = operation.Responses.ContainsKey("412")
                    || (method == OpenApiOperationMethod.Get && versioned.Contains(path))
                    || (method == OpenApiOperationMethod.Post && versioned.Contains(path.TrimEnd('/') + "/{id}"));
                foreach (var (_, response) in operation.Responses.Where(r => carries && r.Key is "200" or "201"))
                {
                    response.Headers["ETag"] = OperationConventions.HeaderSchema(
                        "Version of the returned resource (e.g. \"12\"); send it back as If-Match.", JsonObjectType.String);
                }
            }
        }
    }

    private static void MarkResponseFieldsRequired(OpenApiDocument document)
    {
        var requests = new HashSet<JsonSchema>();
        var responses = new HashSet<JsonSchema>();
        foreach (var operation in document.Paths.SelectMany(p => p.Value.Values))
        {
            foreach (var media in operation.RequestBody?.Content.Values ?? [])
            {
                Collect(media.Schema, requests);
            }

            foreach (var media in operation.Responses.Values.SelectMany(r => r.Content.Values))
            {
                Collect(media.Schema, responses);
            }
        }

        // ApiProblem declares its own required fields (instance and errors are optional there).
        foreach (var schema in responses.Where(s => !requests.Contains(s) && s.Properties.Count > 0 && s.RequiredProperties.Count == 0))
        {
            foreach (var name in schema.Properties.Keys)
            {
                schema.RequiredProperties.Add(name);
            }
        }
    }

    /// <summary>Drops schemas no operation reaches (the framework's ProblemDetails, Stream) so none dangles in the document.</summary>
    private static void RemoveUnreferencedSchemas(OpenApiDocument document)
    {
        var reachable = new HashSet<JsonSchema>();
        foreach (var operation in document.Paths.SelectMany(p => p.Value.Values))
        {
            foreach (var schema in operation.Parameters.Select(p => p.Schema)
                         .Concat(operation.RequestBody?.Content.Values.Select(m => m.Schema) ?? [])
                         .Concat(operation.Responses.Values.SelectMany(r => r.Content.Values.Select(m => m.Schema))))
            {
                Collect(schema, reachable);
            }
        }

        foreach (var name in document.Components.Schemas.Where(s => !reachable.Contains(s.Value)).Select(s => s.Key).ToList())
        {
            document.Components.Schemas.Remove(name);
        }
    }

    private static void Collect(JsonSchema? schema, HashSet<JsonSchema> seen)
    {
        if (schema?.ActualSchema is not { } actual || !seen.Add(actual))
        {
            return;
        }

        foreach (var child in actual.Properties.Values.SelectMany(p => new[] { p.ActualTypeSchema, p.Item, p.AdditionalPropertiesSchema })
                     .Concat(actual.AllOf).Concat(actual.OneOf).Concat(actual.AnyOf))
        {
            Collect(child, seen);
        }

        Collect(actual.Item, seen);
        Collect(actual.AdditionalPropertiesSchema, seen);
    }
}
