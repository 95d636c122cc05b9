using Mediator;

namespace CleanCrm.ArchitectureTests.Samples.WellPlaced.Things.Commands.RenameThing;

public sealed record RenameThing(string Name) : ICommand<int>;

public sealed class RenameThingHandler : ICommandHandler<RenameThing, int>
{
    public ValueTask<int> Handle(RenameThing command, CancellationToken cancellationToken) => ValueTask.FromResult(command.Name.Length);
}
