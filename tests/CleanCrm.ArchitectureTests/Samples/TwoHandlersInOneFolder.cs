using Mediator;

namespace CleanCrm.ArchitectureTests.Samples.Crowded.Things.Commands.RenameThing;

public sealed record RenameThing(string Name) : ICommand<int>;

public sealed class RenameThingHandler : ICommandHandler<RenameThing, int>
{
    public ValueTask<int> Handle(RenameThing command, CancellationToken cancellationToken) => ValueTask.FromResult(0);
}

public sealed record RetitleThing(string Title) : ICommand<int>;

public sealed class RetitleThingHandler : ICommandHandler<RetitleThing, int>
{
    public ValueTask<int> Handle(RetitleThing command, CancellationToken cancellationToken) => ValueTask.FromResult(0);
}
