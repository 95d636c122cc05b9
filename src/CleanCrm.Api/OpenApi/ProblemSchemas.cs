using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace CleanCrm.Api.OpenApi;

/// <summary>
/// The problem details body as the API writes it (docs/API.md, "Errors"); only describes the wire for the OpenAPI document.
/// </summary>
public sealed class ApiProblem
{
    [Description("URI naming the problem type; ends with the code.")]
    [Required]
    public string Type { get; init; } = string.Empty;

    [Description("Short summary of the status (e.g. \"Not Found\").")]
    [Required]
    public string Title { get; init; } = string.Empty;

    [Description("The HTTP status code.")]
    [Required]
    public int Status { get; init; }

    [Description("What went wrong in this request, for humans.")]
    [Required]
    public string Detail { get; init; } = string.Empty;

    [Description("Not set by this API today; reserved by RFC 9457.")]
    public string? Instance { get; init; }

    [Description("Stable machine-readable code (e.g. not_found, plan_limit_reached, feature_disabled).")]
    [Required]
    public string Code { get; init; } = string.Empty;

    [Description("Messages by field (or limit) name: present on validation_failed (400), duplicate_value and plan_limit_reached.")]
    public IDictionary<string, string[]>? Errors { get; init; }

    [Description("W3C trace id of the request, to quote to support.")]
    [Required]
    public string TraceId { get; init; } = string.Empty;
}
