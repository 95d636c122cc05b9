using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Invitations;

/// <summary>Keeps the member list inside a tenant database in step with catalog memberships.</summary>
public interface ITenantMemberSync
{
    Task UpsertAsync(Guid organizationId, Guid userId, string email, string name, OrgRole role, CancellationToken cancellationToken);
}
