using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Me.Queries.GetTwoFactor;

[RequiresSignedInUser]
public sealed record GetTwoFactor : IQuery<Result<TwoFactorStateDto>>;

public sealed class GetTwoFactorHandler(ICatalogDbContext db, ICallerContext caller, AccountSecurity security)
    : IQueryHandler<GetTwoFactor, Result<TwoFactorStateDto>>
{
    public async ValueTask<Result<TwoFactorStateDto>> Handle(GetTwoFactor query, CancellationToken cancellationToken)
    {
        var userId = caller.UserId!.Value;
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, cancellationToken);
        if (user is null)
        {
            return Error.NotFound("User", userId);
        }

        return new TwoFactorStateDto(
            user.TwoFactorEnabled,
            user.TwoFactorKey is not null && user.TwoFactorEnabledAt is null,
            user.TwoFactorEnabled ? await security.RemainingRecoveryCodesAsync(userId, cancellationToken) : 0,
            await security.TwoFactorRequiredAsync(userId, cancellationToken));
    }
}
