using System.Net;
using System.Net.Http.Json;
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
        ("GET", "/api/v1/companies/{id:guid}/logo", Permission.CrmRead, null),
        ("GET", "/api/v1/companies/{id:guid}/enrichment", Permission.CrmRead, null),
        ("GET", "/api/v1/contacts", Permission.CrmRead, null),
        ("POST", "/api/v1/contacts", Permission.CrmWrite, "{\"firstName\":\"Matrix\"}"),
        ("GET", "/api/v1/contacts/{id:guid}", Permission.CrmRead, null),
        ("PATCH", "/api/v1/contacts/{id:guid}", Permission.CrmWrite, "{\"jobTitle\":\"x\"}"),
        ("DELETE", "/api/v1/contacts/{id:guid}", Permission.CrmWrite, null),
        ("GET", "/api/v1/deals", Permission.CrmRead, null),
        ("POST", "/api/v1/deals", Permission.CrmWrite, "{\"name\":\"Matrix\"}"),
        ("GET", "/api/v1/deals/{id:guid}", Permission.CrmRead, null),
        ("PATCH", "/api/v1/deals/{id:guid}", Permission.CrmWrite, "{\"probability\":40}"),
        ("POST", "/api/v1/deals/{id:guid}/move", Permission.CrmWrite, "{\"stageId\":\"{stageId}\"}"),
        ("GET", "/api/v1/deals/{id:guid}/history", Permission.CrmRead, null),
        ("PUT", "/api/v1/deals/{id:guid}/splits", Permission.CrmWrite, "[]"),
        ("GET", "/api/v1/deals/{id:guid}/splits", Permission.CrmRead, null),
        ("DELETE", "/api/v1/deals/{id:guid}", Permission.CrmWrite, null),
        ("GET", "/api/v1/activities", Permission.CrmRead, null),
        ("POST", "/api/v1/activities", Permission.CrmWrite, "{\"type\":\"call\",\"companyId\":\"{companyId}\"}"),
        ("GET", "/api/v1/activities/{id:guid}", Permission.CrmRead, null),
        ("PATCH", "/api/v1/activities/{id:guid}", Permission.CrmWrite, "{\"subject\":\"x\"}"),
        ("DELETE", "/api/v1/activities/{id:guid}", Permission.CrmWrite, null),
        ("GET", "/api/v1/tasks", Permission.CrmRead, null),
        ("POST", "/api/v1/tasks", Permission.CrmWrite, "{\"title\":\"Matrix\",\"companyId\":\"{companyId}\"}"),
        ("GET", "/api/v1/tasks/{id:guid}", Permission.CrmRead, null),
        ("PATCH", "/api/v1/tasks/{id:guid}", Permission.CrmWrite, "{\"status\":\"done\"}"),
        ("DELETE", "/api/v1/tasks/{id:guid}", Permission.CrmWrite, null),
        ("GET", "/api/v1/notes", Permission.CrmRead, null),
        ("POST", "/api/v1/notes", Permission.CrmWrite, "{\"body\":\"Matrix\",\"companyId\":\"{companyId}\"}"),
        ("GET", "/api/v1/notes/{id:guid}", Permission.CrmRead, null),
        ("PATCH", "/api/v1/notes/{id:guid}", Permission.CrmWrite, "{\"pinned\":true}"),
        ("DELETE", "/api/v1/notes/{id:guid}", Permission.CrmWrite, null),
        ("GET", "/api/v1/meetings", Permission.CrmRead, null),
        ("POST", "/api/v1/meetings", Permission.CrmWrite, "{\"title\":\"Matrix\",\"startsAt\":\"2026-03-01T10:00:00Z\"}"),
        ("GET", "/api/v1/meetings/{id:guid}", Permission.CrmRead, null),
        ("PATCH", "/api/v1/meetings/{id:guid}", Permission.CrmWrite, "{\"location\":\"x\"}"),
        ("DELETE", "/api/v1/meetings/{id:guid}", Permission.CrmWrite, null),
        ("GET", "/api/v1/reports/pipeline", Permission.CrmRead, null),
        ("GET", "/api/v1/reports/forecast", Permission.CrmRead, null),
        ("GET", "/api/v1/reports/win-rate", Permission.CrmRead, null),
        ("GET", "/api/v1/reports/revenue-by-owner", Permission.CrmRead, null),
        ("GET", "/api/v1/reports/activity", Permission.CrmRead, null),
        ("GET", "/api/v1/calendar-events", Permission.CrmRead, null),
        ("POST", "/api/v1/calendar-events", Permission.CrmWrite, "{\"title\":\"Matrix\",\"startsAt\":\"2026-03-01T10:00:00Z\"}"),
        ("GET", "/api/v1/calendar-events/{id:guid}", Permission.CrmRead, null),
        ("PATCH", "/api/v1/calendar-events/{id:guid}", Permission.CrmWrite, "{\"location\":\"x\"}"),
        ("DELETE", "/api/v1/calendar-events/{id:guid}", Permission.CrmWrite, null),
        ("GET", "/api/v1/tags", Permission.CrmRead, null),
        ("POST", "/api/v1/tags", Permission.CrmWrite, "{\"name\":\"{unique}\"}"),
        ("GET", "/api/v1/tags/{id:guid}", Permission.CrmRead, null),
        ("PATCH", "/api/v1/tags/{id:guid}", Permission.CrmWrite, "{\"color\":\"#aabbcc\"}"),
        ("DELETE", "/api/v1/tags/{id:guid}", Permission.CrmWrite, null),
        ("GET", "/api/v1/audit-log", Permission.AuditLogRead, null),
        ("GET", "/api/v1/pipelines", Permission.CrmRead, null),
        ("GET", "/api/v1/pipelines/{id:guid}", Permission.CrmRead, null),
        ("POST", "/api/v1/pipelines", Permission.PipelinesManage,
            "{\"name\":\"{unique}\",\"stages\":[{\"name\":\"A\",\"probability\":10,\"kind\":\"open\"}]}"),
        ("PATCH", "/api/v1/pipelines/{id:guid}", Permission.PipelinesManage, "{\"name\":\"{unique}\"}"),
        ("POST", "/api/v1/pipelines/{id:guid}/stages", Permission.PipelinesManage,
            "{\"name\":\"{unique}\",\"probability\":10,\"kind\":\"open\"}"),
        ("PATCH", "/api/v1/pipelines/{id:guid}/stages/{stageId:guid}", Permission.PipelinesManage, "{\"probability\":40}"),
        ("PUT", "/api/v1/pipelines/{id:guid}/stages/order", Permission.PipelinesManage, "{\"stageIds\":[]}"),
        ("DELETE", "/api/v1/pipelines/{id:guid}/stages/{stageId:guid}", Permission.PipelinesManage, null),
        ("DELETE", "/api/v1/pipelines/{id:guid}", Permission.PipelinesManage, null),
        ("POST", "/api/v1/imports/contacts", Permission.CrmWrite, null),
        ("GET", "/api/v1/imports/{id:guid}", Permission.CrmRead, null),
        ("GET", "/api/v1/members", Permission.MembersRead, null),
        ("PATCH", "/api/v1/members/{userId:guid}", Permission.MembersManage, "{\"role\":\"member\"}"),
        ("DELETE", "/api/v1/members/{userId:guid}", Permission.MembersManage, null),
        ("POST", "/api/v1/invitations", Permission.MembersManage, "{\"email\":\"matrix@example.com\",\"role\":\"member\"}"),
        ("GET", "/api/v1/invitations", Permission.MembersManage, null),
        ("GET", "/api/v1/invitations/{id:guid}", Permission.MembersManage, null),
        ("DELETE", "/api/v1/invitations/{id:guid}", Permission.MembersManage, null),
        ("GET", "/api/v1/api-clients", Permission.ApiClientsManage, null),
        ("POST", "/api/v1/api-clients", Permission.ApiClientsManage, "{\"name\":\"Matrix\"}"),
        ("DELETE", "/api/v1/api-clients/{clientId}", Permission.ApiClientsManage, null),
        ("GET", "/api/v1/features", Permission.OrganizationRead, null),
        ("GET", "/api/v1/billing/entitlements", Permission.OrganizationRead, null),
        ("GET", "/api/v1/billing/usage", Permission.MembersManage, null),
        ("GET", "/api/v1/billing/subscription", Permission.BillingManage, null),
        ("GET", "/api/v1/billing/invoices", Permission.BillingManage, null),
        ("POST", "/api/v1/billing/checkout", Permission.BillingManage, "{\"plan\":\"pro\"}"),
        ("POST", "/api/v1/billing/portal", Permission.BillingManage, null),
        ("GET", "/api/v1/backups", Permission.BackupsRead, null),
        ("POST", "/api/v1/backups/{id:guid}/verify", Permission.BackupsRead, null),
        ("GET", "/api/v1/backups/{id:guid}/download", Permission.BackupsRead, null),
        ("GET", "/api/v1/backups/access-log", Permission.BackupsRead, null),
        ("GET", "/api/v1/integrations", Permission.CrmRead, null),
        ("POST", "/api/v1/integrations/{provider}/connect", Permission.IntegrationsManage, null),
        ("DELETE", "/api/v1/integrations/{provider}", Permission.IntegrationsManage, null),
        ("GET", "/api/v1/webhook-endpoints", Permission.IntegrationsManage, null),
        ("POST", "/api/v1/webhook-endpoints", Permission.IntegrationsManage,
            "{\"url\":\"https://hooks.example.com/matrix\",\"events\":[\"deal.created\"]}"),
        ("GET", "/api/v1/webhook-endpoints/{id:guid}", Permission.IntegrationsManage, null),
        ("PATCH", "/api/v1/webhook-endpoints/{id:guid}", Permission.IntegrationsManage, "{\"events\":[\"deal.won\"]}"),
        ("DELETE", "/api/v1/webhook-endpoints/{id:guid}", Permission.IntegrationsManage, null),
        ("GET", "/api/v1/webhook-endpoints/{id:guid}/deliveries", Permission.IntegrationsManage, null),
        ("POST", "/api/v1/webhook-endpoints/{id:guid}/deliveries/{deliveryId:guid}/redeliver", Permission.IntegrationsManage, null),
        ("GET", "/api/v1/workflows", Permission.CrmRead, null),
        ("POST", "/api/v1/workflows", Permission.WorkflowsManage,
            "{\"name\":\"Matrix\",\"trigger\":{\"event\":\"deal.created\"},\"actions\":[{\"type\":\"post_to_slack\",\"text\":\"x\"}]}"),
        ("GET", "/api/v1/workflows/{id:guid}", Permission.CrmRead, null),
        ("PATCH", "/api/v1/workflows/{id:guid}", Permission.WorkflowsManage, "{\"enabled\":false}"),
        ("DELETE", "/api/v1/workflows/{id:guid}", Permission.WorkflowsManage, null),
        ("GET", "/api/v1/workflows/{id:guid}/runs", Permission.CrmRead, null),
        ("GET", "/api/v1/integrations/slack/settings", Permission.IntegrationsManage, null),
        ("PUT", "/api/v1/integrations/slack/settings", Permission.IntegrationsManage, "{\"events\":[\"deal.won\"]}"),
        ("GET", "/api/v1/integrations/fathom/settings", Permission.IntegrationsManage, null),
        ("PUT", "/api/v1/integrations/fathom/settings", Permission.IntegrationsManage, "{\"createContacts\":true}"),
        ("POST", "/api/v1/copilot/messages", Permission.CrmRead, "{\"message\":\"Matrix\"}"),
        ("GET", "/api/v1/copilot/conversations", Permission.CrmRead, null),
        ("GET", "/api/v1/copilot/conversations/{id:guid}", Permission.CrmRead, null),
        ("DELETE", "/api/v1/copilot/conversations/{id:guid}", Permission.CrmRead, null),
        ("POST", "/api/v1/deals/{id:guid}/proposals", Permission.CrmWrite, "{}"),
        ("GET", "/api/v1/deals/{id:guid}/proposals", Permission.CrmRead, null),
        ("GET", "/api/v1/proposals/{id:guid}", Permission.CrmRead, null),
        ("GET", "/api/v1/proposals/template", Permission.CrmRead, null),
        ("PUT", "/api/v1/proposals/template", Permission.CrmWrite, "{\"markdown\":\"# Matrix\"}"),
        ("POST", "/api/v1/meetings/{id:guid}/summary", Permission.CrmWrite, null),
    ];

    private static readonly (string Method, string Route, string? Body)[] AdminEndpoints =
    [
        ("POST", "/api/v1/admin/organizations/{id:guid}/suspend", null),
        ("POST", "/api/v1/admin/organizations/{id:guid}/resume", null),
        ("POST", "/api/v1/admin/organizations/{id:guid}/retry-provisioning", null),
        ("POST", "/api/v1/admin/organizations/{id:guid}/move", "{\"databaseServerId\":\"00000000-0000-0000-0000-000000000001\"}"),
        ("DELETE", "/api/v1/admin/organizations/{id:guid}", null),
        ("PUT", "/api/v1/admin/organizations/{id:guid}/plan", "{\"plan\":\"pro\"}"),
        ("PUT", "/api/v1/admin/organizations/{id:guid}/features/{key}", "{\"enabled\":true}"),
        ("DELETE", "/api/v1/admin/organizations/{id:guid}/features/{key}", null),
        ("PUT", "/api/v1/admin/organizations/{id:guid}/limits", "{\"seats\":3}"),
        ("POST", "/api/v1/admin/migrations", "{\"parallelism\":0}"),
        ("GET", "/api/v1/admin/migrations/{jobId}", null),
        ("POST", "/api/v1/admin/organizations/{id:guid}/backups", null),
        ("GET", "/api/v1/admin/organizations/{id:guid}/backup-access-log", null),
        ("POST", "/api/v1/admin/backups", null),
        ("GET", "/api/v1/admin/backups", null),
        ("GET", "/api/v1/admin/backups/{id:guid}", null),
        ("POST", "/api/v1/admin/backups/{id:guid}/restore", "{\"mode\":\"side_by_side\"}"),
        ("GET", "/api/v1/admin/restores/{id:guid}", null),
        ("POST", "/api/v1/admin/restores/{id:guid}/confirm", null),
        ("GET", "/api/v1/admin/audit-log", null),
        ("POST", "/api/v1/admin/organizations/{id:guid}/support-sessions", "{\"reason\":\"Matrix\",\"minutes\":5}"),
        ("GET", "/api/v1/admin/support-sessions", null),
        ("DELETE", "/api/v1/admin/support-sessions/{id:guid}", null),
        ("GET", "/api/v1/admin/support-sessions/{id:guid}/{resource}", null),
        ("GET", "/api/v1/admin/organizations", null),
        ("GET", "/api/v1/admin/organizations/{id:guid}", null),
        ("POST", "/api/v1/admin/organizations/{id:guid}/migrate", null),
        ("GET", "/api/v1/admin/overview", null),
        ("GET", "/api/v1/admin/migrations", null),
        ("GET", "/api/v1/admin/database-servers", null),
        ("POST", "/api/v1/admin/database-servers",
            "{\"name\":\"matrix\",\"host\":\"127.0.0.1\",\"port\":1,\"adminUsername\":\"x\",\"password\":\"x\",\"capacity\":1}"),
        ("GET", "/api/v1/admin/database-servers/{id:guid}", null),
        ("POST", "/api/v1/admin/database-servers/{id:guid}/drain", null),
        ("POST", "/api/v1/admin/database-servers/{id:guid}/activate", null),
    ];

    [Fact]
    public void Every_org_scoped_endpoint_is_in_the_matrix()
    {
        using var api = new ApiFactory(platform);
        _ = api.CreateClient();
        var mapped = api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<OrgScopedEndpointAttribute>() is not null)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? [])
                .Select(m => $"{m} {Normalize(e.RoutePattern.RawText!)}"))
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
        // Pro, so premium-gated endpoints answer on permissions alone.
        var organization = await platform.CreateOrganizationAsync(
            members: role == OrgRole.Owner
                ? [(caller, OrgRole.Owner), (owner, OrgRole.Owner), (target, OrgRole.Member)]
                : [(owner, OrgRole.Owner), (caller, role), (target, OrgRole.Member)],
            plan: Plan.Pro);
        var ownerClient = api.ClientFor(owner.Id, organization.Slug);
        var company = await OrgScopedEndpoints.CreateAsync(ownerClient, "companies", new { name = "Target" });
        var targets = new Dictionary<string, Guid>
        {
            ["companies"] = company,
            ["contacts"] = await OrgScopedEndpoints.CreateAsync(ownerClient, "contacts", new { firstName = "Target" }),
            ["deals"] = await OrgScopedEndpoints.CreateAsync(ownerClient, "deals", new { name = "Target" }),
            ["activities"] = await OrgScopedEndpoints.CreateAsync(ownerClient, "activities", new { type = "call", companyId = company }),
            ["tasks"] = await OrgScopedEndpoints.CreateAsync(ownerClient, "tasks", new { title = "Target", companyId = company }),
            ["notes"] = await OrgScopedEndpoints.CreateAsync(ownerClient, "notes", new { body = "Target", companyId = company }),
            ["meetings"] =
                await OrgScopedEndpoints.CreateAsync(ownerClient, "meetings", new { title = "Target", startsAt = "2026-03-01T10:00:00Z" }),
            ["calendar-events"] = await OrgScopedEndpoints.CreateAsync(ownerClient, "calendar-events",
                new { title = "Target", startsAt = "2026-03-01T10:00:00Z" }),
            ["tags"] = await OrgScopedEndpoints.CreateAsync(ownerClient, "tags", new { name = "target" }),
        };
        var pipeline = (await ownerClient.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/pipelines")).GetProperty("items")[0];
        var stageId = pipeline.GetProperty("stages")[1].GetProperty("id").GetGuid();
        // Pipeline writes hit the default pipeline: its second stage holds no deal, deleting the default is a 409.
        targets["pipelines"] = pipeline.GetProperty("id").GetGuid();
        var client = api.ClientFor(caller.Id, organization.Slug);
        foreach (var (method, route, needs, template) in OrgEndpoints)
        {
            var path = Fill(route.Replace("{stageId:guid}", stageId.ToString(), StringComparison.Ordinal),
                targets.GetValueOrDefault(route.Split('/')[3], company), target.Id, "cc_missing");
            var body = template?.Replace("{companyId}", company.ToString(), StringComparison.Ordinal)
                .Replace("{stageId}", stageId.ToString(), StringComparison.Ordinal)
                .Replace("{unique}", Guid.NewGuid().ToString("N"), StringComparison.Ordinal);
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
            ((int)(await api.CreateClient().SendAsync(Request(method, path, body, organization.Slug))).StatusCode)
                .ShouldBe(401, $"anonymous {method} {route}");
            ((int)(await api.ClientFor(stranger.Id, organization.Slug).SendAsync(Request(method, path, body))).StatusCode)
                .ShouldBe(404, $"non-member {method} {route}");
            ((int)(await api.ClientFor(stranger.Id, organization.Slug, orgClaim: other.Id, role: "admin")
                .SendAsync(Request(method, path, body))).StatusCode)
                .ShouldBe(403, $"other org's client {method} {route}");
        }

        foreach (var (method, route, body) in AdminEndpoints)
        {
            ((int)(await api.CreateClient().SendAsync(Request(method, Fill(route, organization.Id, owner.Id, "1"), body))).StatusCode)
                .ShouldBe(401, $"anonymous {method} {route}");
        }
    }

    private static string Normalize(string route) => route.TrimEnd('/');

    private static string Fill(string route, Guid id, Guid userId, string other) =>
        route.Replace("{id:guid}", id.ToString(), StringComparison.Ordinal)
            .Replace("{userId:guid}", userId.ToString(), StringComparison.Ordinal)
            .Replace("{stageId:guid}", id.ToString(), StringComparison.Ordinal)
            .Replace("{deliveryId:guid}", id.ToString(), StringComparison.Ordinal)
            .Replace("{clientId}", other, StringComparison.Ordinal)
            .Replace("{jobId}", other, StringComparison.Ordinal)
            .Replace("{key}", "workflows", StringComparison.Ordinal)
            .Replace("{resource}", "contacts", StringComparison.Ordinal)
            .Replace("{provider}", "fathom", StringComparison.Ordinal);

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
