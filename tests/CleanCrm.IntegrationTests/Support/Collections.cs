using CleanCrm.Testing;

namespace CleanCrm.IntegrationTests.Support;

/// <summary>
/// One platform (catalog + template + orgs) shared by the API tests of a collection, plus the administration tests' own
/// platform. One collection, so its tests never run in parallel: the job system keeps process-wide state (its storage
/// and activator) that hosts of two collections running at once would share.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PlatformCollection : ICollectionFixture<SharedPlatform>, ICollectionFixture<Admin.AdminPlatform>
{
    public const string Name = "platform";
}

/// <summary>The shared platform, with both test servers registered.</summary>
public sealed class SharedPlatform : PlatformEnvironment
{
    protected override bool UseSecondaryServer => true;
}
