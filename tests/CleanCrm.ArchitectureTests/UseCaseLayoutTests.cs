namespace CleanCrm.ArchitectureTests;

/// <summary>
/// The use-case layout of docs/ARCHITECTURE.md on the Application assembly, and proof that the checker fails on handlers
/// misplaced on purpose in <c>Samples/</c>.
/// </summary>
public sealed class UseCaseLayoutTests
{
    private const string Samples = "CleanCrm.ArchitectureTests.Samples";
    private const string NotInAFolder = "is not in a use-case folder ";
    private const string Pattern = "<Area>.<Commands|Queries>.<UseCase>";

    [Fact]
    public void Every_use_case_is_a_folder_with_its_request_and_exactly_one_handler() =>
        UseCaseLayout.Violations(typeof(Application.DependencyInjection).Assembly.GetTypes(), "CleanCrm.Application").ShouldBeEmpty();

    [Fact]
    public void The_checker_accepts_well_placed_handlers_also_through_a_generic_base_class()
    {
        Check("WellPlaced").ShouldBeEmpty();
        SampleTypes("WellPlaced").Count(t => t.Name.EndsWith("Handler", StringComparison.Ordinal)).ShouldBe(2);
    }

    [Fact]
    public void The_checker_fails_on_a_handler_outside_a_use_case_folder() =>
        Check("Loose").ShouldBe([$"{Samples}.Loose.Things.ArchiveThingHandler {NotInAFolder}({Samples}.Loose.{Pattern})."]);

    [Fact]
    public void The_checker_finds_handlers_by_their_mediator_interfaces_not_by_name() =>
        Check("Disguised").ShouldBe([$"{Samples}.Disguised.Things.ThingLister {NotInAFolder}({Samples}.Disguised.{Pattern})."]);

    [Fact]
    public void The_checker_fails_on_two_handlers_in_one_use_case_folder()
    {
        const string folder = $"{Samples}.Crowded.Things.Commands.RenameThing";
        Check("Crowded").ShouldBe(
        [
            $"{folder}.RetitleThingHandler should be named RenameThingHandler after its use-case folder.",
            $"{folder}.RetitleThing should be named RenameThing after its use-case folder.",
            $"{folder} holds 2 handlers (RenameThingHandler, RetitleThingHandler); a use-case folder holds exactly one.",
        ]);
    }

    [Fact]
    public void The_checker_fails_on_a_handler_in_another_namespace_than_its_request()
    {
        const string request = $"{Samples}.Split.Things.Queries.GetThing.GetThing";
        Check("Split").ShouldBe(
        [
            $"{Samples}.Split.Things.Queries.FindThing.FindThingHandler handles {request}, which is declared in another namespace.",
            $"{request} has no handler in its namespace.",
        ]);
    }

    [Fact]
    public void The_checker_fails_on_a_query_under_commands() =>
        Check("WrongKind").ShouldBe(
        [
            $"{Samples}.WrongKind.Things.Commands.GetThing.GetThing is under Commands but is not an ICommand (reads go under Queries).",
        ]);

    private static IReadOnlyList<string> Check(string sample) => UseCaseLayout.Violations(SampleTypes(sample), $"{Samples}.{sample}");

    private static List<Type> SampleTypes(string sample) =>
    [
        .. typeof(UseCaseLayoutTests).Assembly.GetTypes()
            .Where(t => t.Namespace == Samples || (t.Namespace?.StartsWith($"{Samples}.{sample}.", StringComparison.Ordinal) ?? false)),
    ];
}
