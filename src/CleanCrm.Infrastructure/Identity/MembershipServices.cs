using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Application.Invitations;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Infrastructure.Identity;

/// <summary>Writes the member row inside the organization's own database (idempotent upsert).</summary>
public sealed class TenantMemberSync(ITenantScopeFactory scopes, TenantDbContextFactory contexts, TimeProvider clock) : ITenantMemberSync
{
    public async Task UpsertAsync(Guid organizationId, Guid userId, string email, string name, OrgRole role,
        CancellationToken cancellationToken)
    {
        await using var scope = await scopes.BeginAsync(organizationId, cancellationToken);
        await using var db = contexts.CreateForCurrentScope();
        var now = clock.GetUtcNow();
        var roleName = role.ToString().ToLowerInvariant();
        await db.Database.ExecuteSqlAsync(
            $"""
             INSERT INTO members (id, email, name, role, is_active, created_at, updated_at)
             VALUES ({userId}, {email}, {name}, {roleName}, true, {now}, {now})
             ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, role = excluded.role, is_active = true, updated_at = excluded.updated_at
             """,
            cancellationToken);
    }
}
