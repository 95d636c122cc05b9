using GetThingQuery = CleanCrm.ArchitectureTests.Samples.Split.Things.Queries.GetThing.GetThing;

namespace CleanCrm.ArchitectureTests.Samples.Split.Things.Queries.FindThing;

public sealed class FindThingHandler : SampleQueryHandler<GetThingQuery>;
