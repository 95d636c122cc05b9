using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.Me;
using CleanCrm.Application.Me.Commands.ChangeEmail;
using CleanCrm.Application.Me.Commands.ChangePassword;
using CleanCrm.Application.Me.Commands.ConfirmTwoFactor;
using CleanCrm.Application.Me.Commands.DisableTwoFactor;
using CleanCrm.Application.Me.Commands.EnrolTwoFactor;
using CleanCrm.Application.Me.Commands.RegenerateRecoveryCodes;
using CleanCrm.Application.Me.Queries.GetTwoFactor;
using CleanCrm.Application.Organizations.Commands.SetOrganizationSecurity;
using CleanCrm.Application.Organizations.Queries.GetOrganizationSecurity;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

/// <summary>The signed-in user's credentials (password, email, two-factor) and an organization's sign-in policy.</summary>
public static class MeSecurityEndpoints
{
    public static IEndpointRouteBuilder MapMeSecurity(this IEndpointRouteBuilder app)
    {
        var me = app.MapGroup("/api/v1/me").WithTags("Identity").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        me.MapPost("/password", async ([FromBody] ChangePasswordFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.NoContent(await mediator.Send(new ChangePassword(body), ct)))
            .WithName("Me_ChangePassword")
            .WithSummary("Change the password")
            .WithDescription("Sets a new password after checking the current one. Every refresh token and sign-in session of the user "
                + "ends, this one's included; wrong current passwords count towards the account lockout.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        me.MapPost("/email", async ([FromBody] ChangeEmailFields body, IMediator mediator, CancellationToken ct) =>
            {
                var result = await mediator.Send(new ChangeEmail(body), ct);
                return result.IsSuccess ? Results.Accepted(value: result.Value) : Problems.Result(result.Error!);
            })
            .WithName("Me_ChangeEmail")
            .WithSummary("Change the email address")
            .WithDescription("Checks the current password and mails a verification link to the new address; the email changes when "
                + "the link is opened. 409 email_taken when another account uses the address.")
            .Produces<EmailChangeRequested>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict);

        var twoFactor = me.MapGroup("/two-factor");
        twoFactor.MapGet("/", async (IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetTwoFactor(), ct)))
            .WithName("Me_GetTwoFactor")
            .WithSummary("Get the two-factor state")
            .WithDescription("Whether two-factor sign-in is on, enrolment is pending, how many recovery codes are left and whether an "
                + "organization of the user requires two-factor.")
            .Produces<TwoFactorStateDto>();
        twoFactor.MapPost("/enrol", async (IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new EnrolTwoFactor(), ct)))
            .WithName("Me_EnrolTwoFactor")
            .WithSummary("Start two-factor enrolment")
            .WithDescription("Creates a new TOTP key (RFC 6238, SHA-1, 6 digits, 30 s) and answers it with its otpauth URI for a QR "
                + "code. Nothing changes at sign-in until a code is confirmed. 409 when two-factor is already on.")
            .Produces<TwoFactorEnrolmentDto>()
            .ProducesProblem(StatusCodes.Status409Conflict);
        twoFactor.MapPost("/confirm", async ([FromBody] TwoFactorCodeFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ConfirmTwoFactor(body), ct)))
            .WithName("Me_ConfirmTwoFactor")
            .WithSummary("Turn two-factor on")
            .WithDescription("Confirms enrolment with a current code and answers 10 single-use recovery codes, shown this once.")
            .Produces<RecoveryCodesDto>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        twoFactor.MapPost("/disable", async ([FromBody] TwoFactorCodeFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.NoContent(await mediator.Send(new DisableTwoFactor(body), ct)))
            .WithName("Me_DisableTwoFactor")
            .WithSummary("Turn two-factor off")
            .WithDescription("Turns two-factor sign-in off with a fresh code and deletes the recovery codes.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        twoFactor.MapPost("/recovery-codes", async ([FromBody] TwoFactorCodeFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new RegenerateRecoveryCodes(body), ct)))
            .WithName("Me_RegenerateRecoveryCodes")
            .WithSummary("Replace the recovery codes")
            .WithDescription("Answers 10 new single-use recovery codes for a fresh code; the previous codes stop working.")
            .Produces<RecoveryCodesDto>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        var orgs = app.MapGroup("/api/v1/orgs").WithTags("Organizations").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        orgs.MapGet("/{slug}/security", async (string slug, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetOrganizationSecurity(slug), ct)))
            .WithName("Organizations_GetSecurity")
            .WithSummary("Get an organization's sign-in policy")
            .WithDescription("Owners and admins: whether the organization requires two-factor sign-in. 404 for non-members.")
            .Produces<OrganizationSecurityDto>();
        orgs.MapPut("/{slug}/security", async (string slug, [FromBody] OrganizationSecurityFields body, IMediator mediator,
                CancellationToken ct) => HttpResults.Ok(await mediator.Send(new SetOrganizationSecurity(slug, body), ct)))
            .WithName("Organizations_SetSecurity")
            .WithSummary("Set an organization's sign-in policy")
            .WithDescription("Owners and admins: require two-factor sign-in for every member. Members without a second factor enrol "
                + "at their next sign-in, and the password grant refuses them.")
            .Produces<OrganizationSecurityDto>()
            .ProducesValidationProblem();
        return app;
    }
}
