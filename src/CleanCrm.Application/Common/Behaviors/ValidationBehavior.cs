using CleanCrm.Application.Common.Results;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.Common.Behaviors;

/// <summary>Runs the request's FluentValidation validators; failures become a 400 with an <c>errors</c> map.</summary>
public sealed class ValidationBehavior<TMessage, TResponse>(
    IEnumerable<IValidator<TMessage>> validators) : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
{
    private readonly IValidator<TMessage>[] _validators = [.. validators];

    // Requests without validators pass straight through (no async state machine of their own).
    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next,
        CancellationToken cancellationToken) =>
        _validators.Length == 0 ? next(message, cancellationToken) : ValidateAsync(message, next, cancellationToken);

    private async ValueTask<TResponse> ValidateAsync(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next,
        CancellationToken cancellationToken)
    {
        var context = new ValidationContext<TMessage>(message);
        var failures = new List<FluentValidation.Results.ValidationFailure>();
        foreach (var validator in _validators)
        {
            var result = await validator.ValidateAsync(context, cancellationToken);
            failures.AddRange(result.Errors);
        }

        if (failures.Count == 0)
        {
            return await next(message, cancellationToken);
        }

        return ResultFailure<TResponse>.Create(ValidationErrors.From(failures));
    }
}

public static class ValidationErrors
{
    public static Error From(IEnumerable<FluentValidation.Results.ValidationFailure> failures)
    {
        var errors = failures
            .GroupBy(f => ToCamelCase(f.PropertyName), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(f => f.ErrorMessage).Distinct(StringComparer.Ordinal).ToArray(),
                StringComparer.Ordinal);
        var first = errors.First();
        var detail = errors.Count == 1
            ? $"{first.Key}: {first.Value[0]}"
            : $"{errors.Count} fields are invalid; first {first.Key}: {first.Value[0]}";
        return Error.Validation(errors, detail);
    }

    // Commands wrap their body in a "Fields" record; clients know the body's field names only.
    private static string ToCamelCase(string propertyPath)
    {
        var path = propertyPath.StartsWith("Fields.", StringComparison.Ordinal) ? propertyPath["Fields.".Length..] : propertyPath;
        return string.Join('.', path.Split('.').Select(part => part.Length == 0 ? part : char.ToLowerInvariant(part[0]) + part[1..]));
    }
}
