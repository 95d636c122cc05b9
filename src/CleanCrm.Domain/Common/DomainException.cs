namespace CleanCrm.Domain.Common;

/// <summary>An invariant of the domain was violated by the caller: a programming error, not user input.</summary>
public sealed class DomainException(string message) : Exception(message);
