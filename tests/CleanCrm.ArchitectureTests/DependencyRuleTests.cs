using System.Reflection;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using NetArchTest.Rules;

namespace CleanCrm.ArchitectureTests;

/// <summary>
/// The dependency rule and the request rules of docs/ARCHITECTURE.md, checked on the compiled assemblies; the use-case
/// layout is checked by <see cref="UseCaseLayoutTests"/>.
/// </summary>
public sealed class DependencyRuleTests
{
    private static readonly Assembly Domain = typeof(CleanCrm.Domain.Catalog.Organization).Assembly;
    private static readonly Assembly Application = typeof(CleanCrm.Application.DependencyInjection).Assembly;
    private static readonly Assembly Infrastructure = typeof(CleanCrm.Infrastructure.DependencyInjection).Assembly;

    [Theory]
    [InlineData("CleanCrm.Application")]
    [InlineData("CleanCrm.Infrastructure")]
    [InlineData("CleanCrm.Api")]
    [InlineData("Microsoft.EntityFrameworkCore")]
    [InlineData("Npgsql")]
    [InlineData("Microsoft.AspNetCore")]
    [InlineData("Mediator")]
    [InlineData("FluentValidation")]
    public void Domain_depends_on_nothing(string forbidden) =>
        AssertNoDependency(Types.InAssembly(Domain), forbidden);

    [Theory]
    [InlineData("CleanCrm.Infrastructure")]
    [InlineData("CleanCrm.Api")]
    [InlineData("CleanCrm.Provisioning.Worker")]
    [InlineData("CleanCrm.Console")]
    [InlineData("Npgsql")]
    [InlineData("Microsoft.AspNetCore")]
    [InlineData("Hangfire")]
    [InlineData("Azure")]
    public void Application_depends_only_on_domain_and_abstractions(string forbidden) =>
        AssertNoDependency(Types.InAssembly(Application), forbidden);

    [Theory]
    [InlineData("CleanCrm.Api")]
    [InlineData("CleanCrm.Provisioning.Worker")]
    [InlineData("CleanCrm.Console")]
    public void Infrastructure_does_not_depend_on_the_hosts(string forbidden) =>
        AssertNoDependency(Types.InAssembly(Infrastructure), forbidden);

    [Fact]
    public void The_console_uses_the_application_in_process_and_never_the_api()
    {
        // docs/adr/0011: the console sends Application requests itself; it must not grow a dependency on the API host.
        var console = typeof(CleanCrm.Console.ConsoleProgram).Assembly;
        Names(console).ShouldContain("CleanCrm.Application");
        Names(console).ShouldNotContain("CleanCrm.Api");
        AssertNoDependency(Types.InAssembly(console), "CleanCrm.Api");
    }

    [Fact]
    public void The_rule_checker_catches_a_real_dependency()
    {
        // Proves the checks above can fail: Infrastructure really uses EF Core and Npgsql.
        Types.InAssembly(Infrastructure).ShouldNot().HaveDependencyOn("Microsoft.EntityFrameworkCore").GetResult().IsSuccessful
            .ShouldBeFalse();
        Types.InAssembly(Application).ShouldNot().HaveDependencyOn("CleanCrm.Domain").GetResult().IsSuccessful.ShouldBeFalse();
    }

    [Fact]
    public void Referenced_assemblies_follow_the_layer_order()
    {
        Names(Domain).ShouldNotContain(n => n.StartsWith("CleanCrm.", StringComparison.Ordinal));
        Names(Application).Where(n => n.StartsWith("CleanCrm.", StringComparison.Ordinal)).ShouldBe(["CleanCrm.Domain"]);
        Names(Infrastructure).Where(n => n.StartsWith("CleanCrm.", StringComparison.Ordinal)).Order()
            .ShouldBe(["CleanCrm.Application", "CleanCrm.Domain"]);
    }

    [Fact]
    public void Every_request_declares_who_may_send_it()
    {
        var undeclared = RequestTypes()
            .Where(t => t.GetCustomAttribute<RequiresPermissionAttribute>() is null
                        && t.GetCustomAttribute<RequiresPlatformAdminAttribute>() is null
                        && t.GetCustomAttribute<AllowAnonymousRequestAttribute>() is null
                        && t.GetCustomAttribute<RequiresSignedInUserAttribute>() is null)
            .Select(t => t.FullName)
            .ToList();
        undeclared.ShouldBeEmpty(
            "every request type must declare [RequiresPermission], [RequiresPlatformAdmin], [RequiresSignedInUser] "
            + "or [AllowAnonymousRequest]");
        RequestTypes().ShouldNotBeEmpty();
    }

    [Fact]
    public void Requests_that_need_a_crm_permission_are_org_scoped()
    {
        var notScoped = RequestTypes()
            .Where(t => t.GetCustomAttribute<RequiresPermissionAttribute>() is not null && !typeof(IOrgScopedRequest).IsAssignableFrom(t))
            .Select(t => t.FullName)
            .ToList();
        notScoped.ShouldBeEmpty();
    }

    [Fact]
    public void Every_request_answers_with_a_result_so_behaviors_can_fail_it()
    {
        NotAnsweringResults(RequestTypes()).ShouldBeEmpty(
            "behaviors fail a request through ResultFailure<TResponse>, which needs Result<T>");

        // The check can fail: the layout samples answer plain values.
        NotAnsweringResults([typeof(Samples.WellPlaced.Things.Commands.RenameThing.RenameThing)])
            .ShouldBe(["CleanCrm.ArchitectureTests.Samples.WellPlaced.Things.Commands.RenameThing.RenameThing answers Int32"]);
    }

    private static List<string> NotAnsweringResults(IEnumerable<Type> requests) =>
    [
        .. requests
            .Select(t => (Type: t, Response: ResponseType(t)))
            .Where(r => r.Response is not { IsGenericType: true } || r.Response.GetGenericTypeDefinition() != typeof(Result<>))
            .Select(r => $"{r.Type.FullName} answers {r.Response?.Name ?? "nothing"}"),
    ];

    private static Type? ResponseType(Type request) =>
        request.GetInterfaces()
            .Where(i => i.IsGenericType)
            .FirstOrDefault(i => i.GetGenericTypeDefinition() is var d
                                 && (d == typeof(IRequest<>) || d == typeof(ICommand<>) || d == typeof(IQuery<>)))
            ?.GetGenericArguments()[0];

    private static IEnumerable<Type> RequestTypes() =>
        Application.GetTypes().Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IMessage).IsAssignableFrom(t));

    private static IEnumerable<string> Names(Assembly assembly) => assembly.GetReferencedAssemblies().Select(a => a.Name!);

    private static void AssertNoDependency(Types types, string forbidden)
    {
        var result = types.ShouldNot().HaveDependencyOn(forbidden).GetResult();
        (result.FailingTypeNames ?? []).ShouldBeEmpty($"these types depend on {forbidden}");
    }
}
