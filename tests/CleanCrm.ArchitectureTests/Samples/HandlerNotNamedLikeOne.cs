namespace CleanCrm.ArchitectureTests.Samples.Disguised.Things;

public sealed record ListThings : SampleQuery;

/// <summary>A handler only through its base class and not named like one: the checker must still find it.</summary>
public sealed class ThingLister : SampleQueryHandler<ListThings>;
