namespace CleanCrm.ArchitectureTests.Samples.Split.Things.Queries.GetThing;

/// <summary>Its handler lives in another use-case folder (<c>FindThing</c>).</summary>
public sealed record GetThing : SampleQuery;
