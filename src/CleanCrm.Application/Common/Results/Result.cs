namespace CleanCrm.Application.Common.Results;

/// <summary>Outcome of a use case: a value, or an expected <see cref="Results.Error"/>. Exceptions stay for the unexpected.</summary>
public abstract class Result
{
    protected Result(Error? error) => Error = error;

    public Error? Error { get; }

    public bool IsSuccess => Error is null;
}

public sealed class Result<T> : Result
{
    private readonly T? _value;

    private Result(T value)
        : base(null) => _value = value;

    private Result(Error error)
        : base(error)
    {
    }

    public T Value => IsSuccess ? _value! : throw new InvalidOperationException($"Result is a failure ({Error!.Code}); it has no value.");

    public static Result<T> Success(T value) => new(value);

    public static Result<T> Failure(Error error) => new(error);

#pragma warning disable CA2225 // Conversions are the point: handlers return a value or an error.
    public static implicit operator Result<T>(T value) => Success(value);

    public static implicit operator Result<T>(Error error) => Failure(error);
#pragma warning restore CA2225
}

/// <summary>
/// Lets a pipeline behavior fail any request without reflection per call. Every request answers with a
/// <see cref="Result{T}"/> (an architecture test checks it), so behaviors have no exception fallback.
/// </summary>
public static class ResultFailure<TResponse>
{
    private static readonly Func<Error, TResponse>? Factory = CreateFactory();

    public static TResponse Create(Error error) =>
        Factory is not null
            ? Factory(error)
            : throw new InvalidOperationException($"{typeof(TResponse).Name} cannot carry an error; use Result<T>.");

    private static Func<Error, TResponse>? CreateFactory()
    {
        var type = typeof(TResponse);
        if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(Result<>))
        {
            return null;
        }

        var method = type.GetMethod(nameof(Result<object>.Failure))!;
        return method.CreateDelegate<Func<Error, TResponse>>();
    }
}
