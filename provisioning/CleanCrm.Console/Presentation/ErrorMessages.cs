using CleanCrm.Application.Common.Results;

namespace CleanCrm.Console.Presentation;

/// <summary>Turns an Application error into the sentence shown in the page's <c>role="alert"</c> (never JSON).</summary>
public static class ErrorMessages
{
    private const string GenericValidationDetail = "One or more fields are invalid.";

    public static string Describe(Error error)
    {
        var detail = string.IsNullOrWhiteSpace(error.Detail) ? Fallback(error.Type) : error.Detail.Trim();
        if (error.Errors is not { Count: > 0 } fields)
        {
            return detail;
        }

        // Field messages are fragments ("must be 0 or more."): name the field in front of each one.
        var parts = fields.SelectMany(f => f.Value.Select(message => Field(f.Key, message))).Distinct(StringComparer.Ordinal).ToList();
        var detailSaysNothingMore = detail == GenericValidationDetail
            || fields.Values.SelectMany(messages => messages).Any(message => detail.Contains(message.Trim(), StringComparison.Ordinal));
        return detailSaysNothingMore ? string.Join(" ", parts) : $"{detail} {string.Join(" ", parts)}";
    }

    private static string Field(string field, string message)
    {
        var text = message.Trim();
        if (text.Length == 0)
        {
            return $"{field} is invalid.";
        }

        return text.StartsWith(field, StringComparison.OrdinalIgnoreCase) || char.IsUpper(text[0]) ? text : $"{field} {text}";
    }

    private static string Fallback(ErrorType type) => type switch
    {
        ErrorType.NotFound => "It was not found.",
        ErrorType.Forbidden => "You are not allowed to do this.",
        ErrorType.Conflict => "It cannot be done in its current state.",
        ErrorType.Validation => "Some fields are invalid.",
        _ => "The request could not be completed.",
    };
}
