namespace CleanCrm.ArchitectureTests.Samples.WellPlaced.Things.Queries.CountThings;

public sealed record CountThings : SampleQuery;

public sealed class CountThingsHandler : SampleQueryHandler<CountThings>;
