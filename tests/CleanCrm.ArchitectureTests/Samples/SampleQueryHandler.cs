using Mediator;

namespace CleanCrm.ArchitectureTests.Samples;

/// <summary>A query base the samples share, so a handler can be one only through <see cref="SampleQueryHandler{TQuery}"/>.</summary>
public abstract record SampleQuery : IQuery<int>;

public abstract class SampleQueryHandler<TQuery> : IQueryHandler<TQuery, int>
    where TQuery : SampleQuery
{
    public ValueTask<int> Handle(TQuery query, CancellationToken cancellationToken) => ValueTask.FromResult(0);
}
