using System.Net;
using System.Text;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Identity;

/// <summary>
/// Every org-scoped and admin endpoint called as each kind of caller; allowed means "got past authorization" (no 401,
/// no 403, no org-level 404), denied means exactly that refusal. A new endpoint missing from this table fails a test.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class AuthorizationMatrixTests(SharedPlatform platform)
{
    private static readonly (string Method, string Route, Permission? Needs, string? Body)[] OrgEndpoints =
    [
        ("GET", "/api/v1/companies", Permission.CrmRead, null),
        ("POST", "/api/v1/companies", Permission.CrmWrite, "{\"name\":\"Matrix\"}"),
        ("GET", "/api/v1/companies/{id:guid}", Permission.CrmRead, null),
        ("PATCH", "/api/v1/companies/{id:guid}", Permission.CrmWrite, "{\"industry\":\"x\"}"),
        ("DELETE", "/api/v1/companies/{id:guid}", Permission.CrmWrite, null),
        ("GET", "/api/v1/contacts", Permission.CrmRead, null),
        ("POST", "/api/v1/contacts", Permission.CrmWrite, "{\"firstName\":\"Matrix\"}"),
        ("GET", "/api/v1/contacts/{id:guid}", Permission.CrmRead, null),
        ("PATCH", "/api/v1/contacts/{id:guid}", Permission.CrmWrite, "{\"jobTitle\":\"x\"}"),
        ("DELETE", "/api/v1/contacts/{id:guid}", Permission.CrmWrite, null),
        ("GET", "/api/v1/pipelines", Permission.CrmRead, null),
        ("GET", "/api/v1/pipelines/{id:guid}", Permission.CrmRead, null),
        ("POST", "/api/v1/imports/contacts", Permission.CrmWrite, null),
        ("GET", "/api/v1/imports/{id:guid}", Permission.CrmRead, null),
        ("GET", "/api/v1/members", Permission.MembersRead, null),
        ("PATCH", "/api/v1/members/{userId:guid}", Permission.MembersManage, "{\"role\":\"member\"}"),
        ("DELETE", "/api/v1/members/{userId:guid}", Permission.MembersManage, null),
        ("GET", "/api/v1/api-clients", Permission.ApiClientsManage, null),
        ("POST", "/api/v1/api-clients", Permission.ApiClientsManage, "{\"name\":\"Matrix\"}"),
        ("DELETE", "/api/v1/api-clients/{clientId}", Permission.ApiClientsManage, null),
    ];

    private static readonly (string Method, string Route, string? Body)[] AdminEndpoints =
    [
        ("POST", "/api/v1/admin/organizations/{id:guid}/suspend", null),
        ("POST", "/api/v1/admin/organizations/{id:guid}/resume", null),
        ("POST", "/api/v1/admin/organizations/{id:guid}/retry-provisioning", null),
        ("POST", "/api/v1/admin/organizations/{id:guid}/move", "{\"databaseServerId\":\"00000000-0000-0000-0000-000000000001\"}"),
        ("DELETE", "/api/v1/admin/organizations/{id:guid}", null),
        ("POST", "/api/v1/admin/migrations", "{\"parallelism\":0}"),
        ("GET", "/api/v1/admin/migrations/{jobId}", null),
    ];

    [Fact]
    public void Every_org_scoped_endpoint_is_in_the_matrix()
    {
        using var api = new ApiFactory(platform);
        _ = api.CreateClient();
        var mapped = api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<OrgScopedEndpointAttribute>() is not null)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => $"{m} {Normalize(e.RoutePattern.RawText!)}"))
            .Order()
            .ToList();
        mapped.ShouldBe(OrgEndpoints.Select(e => $"{e.Method} {Normalize(e.Route)}").Order().ToList());
    }

    [Theory]
    [InlineData(OrgRole.Owner)]
    [InlineData(OrgRole.Admin)]
    [InlineData(OrgRole.Member)]
    [InlineData(OrgRole.Readonly)]
    [InlineData(OrgRole.Auditor)]
    public async Task Each_role_reaches_exactly_the_endpoints_its_permissions_allow(OrgRole role)
    {
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var owner = await platform.CreateUserAsync();
        var caller = await platform.CreateUserAsync();
        var target = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: role == OrgRole.Owner
            ? [(caller, OrgRole.Owner), (owner, OrgRole.Owner), (target, OrgRole.Member)]
            : [(owner, OrgRole.Owner), (caller, role), (target, OrgRole.Member)]);
        var ownerClient = api.ClientFor(owner.Id, organization.Slug);
        var company = await OrgScopedEndpoints.CreateAsync(ownerClient, "companies", new { name = "Target" });
        var contact = await OrgScopedEndpoints.CreateAsync(ownerClient, "contacts", new { firstName = "Target" });
        var client = api.ClientFor(caller.Id, organization.Slug);
        foreach (var (method, route, needs, body) in OrgEndpoints)
        {
            var path = Fill(route, route.Contains("companies") ? company : contact, target.Id, "cc_missing");
            var response = await client.SendAsync(Request(method, path, body));
            var allowed = RolePermissions.Allows(role, needs!.Value);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            if (allowed)
            {
                status.ShouldNotBeOneOf([401, 403], $"{role} {method} {route}: {text}");
                text.ShouldNotContain("Organization '", customMessage: $"{role} {method} {route}");
            }
            else
            {
                status.ShouldBe(403, $"{role} {method} {route}: {text}");
            }
        }

        foreach (var (method, route, body) in AdminEndpoints)
        {
            var response = await client.SendAsync(Request(method, Fill(route, organization.Id, target.Id, "1"), body));
            ((int)response.StatusCode).ShouldBe(403, $"{role} {method} {route} is for platform admins only");
        }
    }

    [Fact]
    public async Task Non_members_anonymous_callers_and_other_orgs_clients_are_refused_everywhere()
    {
        var api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        var owner = await platform.CreateUserAsync();
        var stranger = await platform.CreateUserAsync();
        var organization = await platform.CreateOrganizationAsync(members: [(owner, OrgRole.Owner)]);
        var other = await platform.CreateOrganizationAsync(members: [(stranger, OrgRole.Owner)]);
        foreach (var (method, route, _, body) in OrgEndpoints)
        {
            var path = Fill(route, Guid.NewGuid(), owner.Id, "cc_missing");
            ((int)(await api.CreateClient().SendAsync(Request(method, path, body, organization.Slug))).StatusCode).ShouldBe(401, $"anonymous {method} {route}");
            ((int)(await api.ClientFor(stranger.Id, organization.Slug).SendAsync(Request(method, path, body))).StatusCode).ShouldBe(404, $"non-member {method} {route}");
            ((int)(await api.ClientFor(stranger.Id, organization.Slug, orgClaim: other.Id, role: "admin").SendAsync(Request(method, path, body))).StatusCode)
                .ShouldBe(403, $"other org's client {method} {route}");
        }

        foreach (var (method, route, body) in AdminEndpoints)
        {
            ((int)(await api.CreateClient().SendAsync(Request(method, Fill(route, organization.Id, owner.Id, "1"), body))).StatusCode).ShouldBe(401, $"anonymous {method} {route}");
        }
    }

    private static string Normalize(string route) => route.TrimEnd('/');

    private static string Fill(string route, Guid id, Guid userId, string other) =>
        route.Replace("{id:guid}", id.ToString(), StringComparison.Ordinal)
            .Replace("{userId:guid}", userId.ToString(), StringComparison.Ordinal)
            .Replace("{clientId}", other, StringComparison.Ordinal)
            .Replace("{jobId}", other, StringComparison.Ordinal);

    private static HttpRequestMessage Request(string method, string path, string? body, string? org = null)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (org is not null)
        {
            request.Headers.Add("X-Org", org);
        }

        return request;
    }
}
