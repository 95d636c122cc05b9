namespace CleanCrm.ArchitectureTests.Samples.WrongKind.Things.Commands.GetThing;

public sealed record GetThing : SampleQuery;

public sealed class GetThingHandler : SampleQueryHandler<GetThing>;
