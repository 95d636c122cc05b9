using Mediator;

namespace CleanCrm.ArchitectureTests.Samples.Loose.Things;

public sealed record ArchiveThing(Guid Id) : ICommand<int>;

public sealed class ArchiveThingHandler : ICommandHandler<ArchiveThing, int>
{
    public ValueTask<int> Handle(ArchiveThing command, CancellationToken cancellationToken) => ValueTask.FromResult(1);
}
