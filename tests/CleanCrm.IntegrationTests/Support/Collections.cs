using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Support;

/// <summary>One platform (catalog + template + orgs) shared by the API tests of a collection.</summary>
[CollectionDefinition(Name)]
public sealed class PlatformCollection : ICollectionFixture<SharedPlatform>
{
    public const string Name = "platform";
}

/// <summary>The shared platform, with both test servers registered.</summary>
public sealed class SharedPlatform : PlatformEnvironment
{
    protected override bool UseSecondaryServer => true;
}
