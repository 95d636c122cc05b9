using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Common;

namespace CleanCrm.UnitTests;

public sealed class DomainRulesTests
{
    [Theory]
    [InlineData("acme", true)]
    [InlineData("acme-corp-2", true)]
    [InlineData("ab", false)]
    [InlineData("2acme", false)]
    [InlineData("Acme", false)]
    [InlineData("acme_corp", false)]
    [InlineData("a-very-long-slug-that-goes-past-forty-chars", false)]
    [InlineData("admin", false)]
    [InlineData("api", false)]
    [InlineData("", false)]
    public void Slugs_follow_the_contract_and_reserved_words_are_refused(string value, bool valid) =>
        Slug.TryCreate(value, out _).ShouldBe(valid);

    [Fact]
    public void Tenant_database_and_role_names_derive_from_the_id_only()
    {
        var id = Guid.Parse("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        Organization.DatabaseNameFor(id).ShouldBe("cleancrm_t_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b");
        Organization.DatabaseNameFor(id).Length.ShouldBeLessThanOrEqualTo(63);
        Organization.DatabaseRoleFor(id).ShouldBe(Organization.DatabaseNameFor(id));
    }

    [Fact]
    public void Only_active_orgs_can_be_suspended_and_only_suspended_ones_resumed()
    {
        var organization = new Organization { Slug = "acme", Name = "Acme", PlanKey = Plan.Free, Status = OrganizationStatus.Active };
        organization.Suspend(DateTimeOffset.UnixEpoch);
        organization.Status.ShouldBe(OrganizationStatus.Suspended);
        Should.Throw<DomainException>(() => organization.Suspend(DateTimeOffset.UnixEpoch));
        organization.Resume(DateTimeOffset.UnixEpoch);
        organization.Status.ShouldBe(OrganizationStatus.Active);
        Should.Throw<DomainException>(() => organization.Resume(DateTimeOffset.UnixEpoch));
        organization.Status = OrganizationStatus.Deleting;
        Should.Throw<DomainException>(() => organization.Activate(DateTimeOffset.UnixEpoch, "v1"));
    }

    [Theory]
    [InlineData(OrgRole.Owner, Permission.BillingManage, true)]
    [InlineData(OrgRole.Admin, Permission.BillingManage, false)]
    [InlineData(OrgRole.Admin, Permission.MembersManage, true)]
    [InlineData(OrgRole.Member, Permission.CrmWrite, true)]
    [InlineData(OrgRole.Member, Permission.MembersManage, false)]
    [InlineData(OrgRole.Readonly, Permission.CrmRead, true)]
    [InlineData(OrgRole.Readonly, Permission.CrmWrite, false)]
    [InlineData(OrgRole.Auditor, Permission.CrmRead, false)]
    [InlineData(OrgRole.Auditor, Permission.BackupsRead, true)]
    [InlineData(OrgRole.Auditor, Permission.AuditLogRead, true)]
    public void The_role_matrix_matches_the_spec(OrgRole role, Permission permission, bool allowed) =>
        RolePermissions.Allows(role, permission).ShouldBe(allowed);
}
