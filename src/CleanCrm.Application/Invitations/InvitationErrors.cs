using CleanCrm.Application.Common.Results;

namespace CleanCrm.Application.Invitations;

internal static class InvitationErrors
{
    public static Error SeatLimit(int seats, int used) => new(
        ErrorType.PaymentRequired,
        ErrorCodes.PlanLimitReached,
        $"The plan includes {seats} seat(s) and {used} are taken by members and pending invitations; "
        + "upgrade the plan (POST /api/v1/billing/checkout) or revoke a pending invitation.")
    {
        Errors = new Dictionary<string, string[]> { ["seats"] = [$"limit {seats} reached"] },
    };

    // One answer for unknown, used, revoked and expired tokens is tempting, but the invitee needs to know what to do;
    // the token itself is 256 random bits, so distinguishing the states reveals nothing guessable.
    public static Error NotFound() =>
        new(ErrorType.NotFound, ErrorCodes.NotFound, "This invitation does not exist or was replaced by a newer one.");

    public static Error Expired() => new(ErrorType.Conflict, "invitation_expired", "This invitation has expired; ask for a new one.");

    public static Error Used() => new(ErrorType.Conflict, "invitation_used", "This invitation was already used or revoked.");
}
