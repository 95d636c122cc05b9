namespace CleanCrm.Application.Common.Results;

/// <summary>The kinds of expected failure; each maps to one HTTP status in the API.</summary>
public enum ErrorType
{
    Validation,
    BadRequest,
    NotFound,
    Conflict,
    Forbidden,
    PreconditionFailed,
    PreconditionRequired,
    PaymentRequired,
    NotReady,
    Unavailable,
    UnsupportedMediaType,
    PayloadTooLarge,

    /// <summary>Well-formed input that the platform cannot act on (e.g. a database server it cannot reach): 422.</summary>
    Unprocessable,
}

/// <summary>An expected failure: a machine-readable <see cref="Code"/> (the problem type) and a sentence for people.</summary>
public sealed record Error(ErrorType Type, string Code, string Detail)
{
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }

    public static Error Validation(IReadOnlyDictionary<string, string[]> errors, string detail = "One or more fields are invalid.") =>
        new(ErrorType.Validation, ErrorCodes.ValidationFailed, detail) { Errors = errors };

    public static Error Validation(string field, string message) =>
        Validation(new Dictionary<string, string[]> { [field] = [message] }, message);

    public static Error NotFound(string resource, object id) =>
        new(ErrorType.NotFound, ErrorCodes.NotFound, $"{resource} '{id}' was not found.");

    public static Error Conflict(string code, string detail) => new(ErrorType.Conflict, code, detail);

    public static Error Forbidden(string code, string detail) => new(ErrorType.Forbidden, code, detail);

    public static Error PreconditionFailed(string detail) => new(ErrorType.PreconditionFailed, ErrorCodes.PreconditionFailed, detail);
}

/// <summary>Problem type codes of the HTTP contract (docs/API.md, "Errors").</summary>
public static class ErrorCodes
{
    public const string ValidationFailed = "validation_failed";
    public const string BadRequest = "bad_request";
    public const string NotFound = "not_found";
    public const string Conflict = "conflict";
    public const string Forbidden = "forbidden";
    public const string PreconditionFailed = "precondition_failed";
    public const string OrgRequired = "org_required";
    public const string OrgNotReady = "org_not_ready";
    public const string OrgSuspended = "org_suspended";
    public const string OrgMismatch = "org_mismatch";
    public const string PlanLimitReached = "plan_limit_reached";
    public const string FeatureDisabled = "feature_disabled";
    public const string TenantConnectionsExhausted = "tenant_connections_exhausted";
    public const string DuplicateValue = "duplicate_value";
    public const string InvalidReference = "invalid_reference";
    public const string SlugTaken = "slug_taken";
    public const string EmailTaken = "email_taken";
    public const string DatabaseServerUnreachable = "database_server_unreachable";
}
