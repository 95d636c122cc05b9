using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Me.Queries.GetPlatformAdminStatus;

/// <summary>
/// Whether the signed-in user is (still) a platform admin in the catalog: the provisioning console asks again every few
/// minutes, so revoking the flag ends console access without waiting for the session to expire (docs/CONSOLE.md).
/// </summary>
[RequiresSignedInUser]
public sealed record GetPlatformAdminStatus : IQuery<Result<PlatformAdminStatusDto>>;

public sealed record PlatformAdminStatusDto(Guid UserId, bool Exists, bool IsPlatformAdmin);

public sealed class GetPlatformAdminStatusHandler(ICatalogDbContext db, ICallerContext caller)
    : IQueryHandler<GetPlatformAdminStatus, Result<PlatformAdminStatusDto>>
{
    public async ValueTask<Result<PlatformAdminStatusDto>> Handle(GetPlatformAdminStatus query, CancellationToken cancellationToken)
    {
        var userId = caller.UserId!.Value;
        var admin = await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => (bool?)u.IsPlatformAdmin)
            .FirstOrDefaultAsync(cancellationToken);
        return new PlatformAdminStatusDto(userId, admin is not null, admin == true);
    }
}
