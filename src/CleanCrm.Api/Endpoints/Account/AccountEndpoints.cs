using System.Globalization;
using System.Security.Claims;
using CleanCrm.Api.Security;
using CleanCrm.Application.Account.Commands.RequestPasswordReset;
using CleanCrm.Application.Account.Commands.ResetPassword;
using CleanCrm.Application.Account.Commands.VerifyEmail;
using CleanCrm.Application.Common.Identity;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Mediator;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using QRCoder;
using IdentityOptions = CleanCrm.Api.Security.IdentityOptions;

namespace CleanCrm.Api.Endpoints.Account;

/// <summary>
/// The account pages of the OpenID Connect server (<c>/account/*</c>): sign in (with home-realm discovery for enterprise
/// SSO), forgot and reset password, verify email, the two-factor challenge, recovery codes and forced two-factor
/// enrolment. Every form carries an antiforgery token; the only place a page sends the browser after signing in is a
/// <c>/connect/authorize</c> request of a registered client to one of its registered redirect URIs.
/// </summary>
public static class AccountEndpoints
{
    /// <summary>The short-lived cookie between the password and the second factor (or forced enrolment).</summary>
    public const string TwoFactorScheme = "CleanCrm.TwoFactor";

    public const string AuthenticationMethodsClaim = OpenIddictConstants.Claims.AuthenticationMethodReference;
    private const string SecurityStampClaim = CleanCrmClaims.SecurityStamp;
    private static readonly string[] PasswordOnly = ["pwd"];
    private static readonly string[] PasswordAndTotp = ["pwd", "otp", "mfa"];
    private static readonly string[] PasswordAndRecoveryCode = ["pwd", "mfa"];

    public static IEndpointRouteBuilder MapAccountPages(this IEndpointRouteBuilder app)
    {
        var account = app.MapGroup("/account").ExcludeFromDescription().AllowAnonymous();
        account.MapGet("/site.css", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Text(AccountHtml.Stylesheet, "text/css; charset=utf-8");
        });
        account.MapGet("/login", LoginPageAsync);
        account.MapPost("/login", LoginAsync);
        account.MapGet("/signed-in", () => AccountHtml.Page("You are signed in",
            AccountHtml.Paragraph("You are signed in to CleanCrm. Go back to the application you came from.")));
        account.MapGet("/forgot-password", ForgotPasswordPage);
        account.MapPost("/forgot-password", ForgotPasswordAsync);
        account.MapGet("/reset-password", ResetPasswordPage);
        account.MapPost("/reset-password", ResetPasswordAsync);
        account.MapGet("/verify-email", VerifyEmailPage);
        account.MapPost("/verify-email", VerifyEmailAsync);
        account.MapGet("/two-factor", TwoFactorPageAsync);
        account.MapPost("/two-factor", TwoFactorAsync);
        account.MapGet("/recovery-code", RecoveryCodePageAsync);
        account.MapPost("/recovery-code", RecoveryCodeAsync);
        account.MapGet("/two-factor/setup", SetupPageAsync);
        account.MapPost("/two-factor/setup", SetupAsync);
        return app;
    }

    /// <summary>
    /// <paramref name="url"/> when it is this server's authorization endpoint for a registered client and one of that
    /// client's registered redirect URIs, else null: the pages never redirect anywhere else.
    /// </summary>
    public static async Task<string?> SafeReturnUrlAsync(string? url, IOpenIddictApplicationManager applications,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(url) || url.Length > 4096 || !url.StartsWith("/connect/authorize?", StringComparison.Ordinal)
            || url.Contains("//", StringComparison.Ordinal) || url.Contains('\\', StringComparison.Ordinal))
        {
            return null;
        }

        var query = QueryHelpers.ParseQuery(url[url.IndexOf('?', StringComparison.Ordinal)..]);
        if (!query.TryGetValue("client_id", out var clientId) || clientId.Count != 1
            || !query.TryGetValue("redirect_uri", out var redirectUri) || redirectUri.Count != 1)
        {
            return null;
        }

        var application = await applications.FindByClientIdAsync(clientId.ToString(), cancellationToken);
        return application is not null
               && await applications.ValidateRedirectUriAsync(application, redirectUri.ToString(), cancellationToken)
            ? url
            : null;
    }

    private static async Task<IResult> LoginPageAsync(HttpContext context, IAntiforgery antiforgery,
        IOpenIddictApplicationManager applications, string? returnUrl, string? email)
    {
        var safe = await SafeReturnUrlAsync(returnUrl, applications, context.RequestAborted);
        return LoginPage(context, antiforgery, safe, email, null, null, null);
    }

    private static IResult LoginPage(HttpContext context, IAntiforgery antiforgery, string? returnUrl, string? email,
        string? emailError, string? passwordError, string? message, int status = StatusCodes.Status200OK, string? extra = null)
    {
        var form = AccountHtml.Form(context, antiforgery, "/account/login", "Sign in", "Sign in",
            [
                new AccountField("email", "Email", "email", email, "username", emailError),
                new AccountField("password", "Password", "password", null, "current-password", passwordError, Required: false),
            ],
            new Dictionary<string, string?> { ["returnUrl"] = returnUrl },
            $"<p class=\"links\">{AccountHtml.Link(WithReturnUrl("/account/forgot-password", returnUrl), "Forgot your password?")}</p>");
        return AccountHtml.Page("Sign in to CleanCrm", AccountHtml.Message(message) + (extra ?? string.Empty) + form, status);
    }

    private static async Task<IResult> LoginAsync(
        HttpContext context,
        IAntiforgery antiforgery,
        CatalogDbContext db,
        IPasswordHashing passwords,
        AccountSignInThrottle throttle,
        IOpenIddictApplicationManager applications,
        AccountSecurity security,
        IOptions<IdentityOptions> options,
        TimeProvider clock)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return AntiforgeryFailed();
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var returnUrl = await SafeReturnUrlAsync(form["returnUrl"], applications, context.RequestAborted);
        var email = form["email"].ToString().Trim();
        var password = form["password"].ToString();
        if (email.Length == 0 || email.Length > 254 || !email.Contains('@', StringComparison.Ordinal))
        {
            return LoginPage(context, antiforgery, returnUrl, email, "Enter the email address of your account.", null,
                "Check the highlighted field.", StatusCodes.Status400BadRequest);
        }

        // Enterprise SSO: an organization's identity provider owns this email's domain.
        if (context.RequestServices.GetService<IHomeRealmDiscovery>() is { } discovery
            && await discovery.FindAsync(email, context.RequestAborted) is { } realm)
        {
            var start = realm.StartPath + "?returnUrl=" + Uri.EscapeDataString(returnUrl ?? string.Empty);
            if (password.Length == 0)
            {
                return Results.Redirect(start);
            }

            if (realm.Enforced)
            {
                return LoginPage(context, antiforgery, returnUrl, email, null,
                    $"Your organization signs you in with {realm.DisplayName}; passwords are not accepted.",
                    $"Sign in with {realm.DisplayName} instead.", StatusCodes.Status400BadRequest,
                    $"<p>{AccountHtml.Link(start, $"Continue with {realm.DisplayName}")}</p>");
            }
        }

        if (password.Length == 0)
        {
            return LoginPage(context, antiforgery, returnUrl, email, null, "Enter your password.", "Check the highlighted field.",
                StatusCodes.Status400BadRequest);
        }

        if (!throttle.TryAcquire(email, out var retryAfter))
        {
            var seconds = Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return LoginPage(context, antiforgery, returnUrl, email, null, null,
                $"Too many sign-in attempts for this account. Try again in {seconds} seconds.", StatusCodes.Status429TooManyRequests);
        }

        var user = await TokenEndpoints.VerifyPasswordAsync(db, passwords, clock, email, password, context.RequestAborted);
        if (user is null)
        {
            var normalized = UserAccount.Normalize(email);
            var lockedUntil = await db.Users.AsNoTracking().Where(u => u.NormalizedEmail == normalized)
                .Select(u => u.LockoutEndsAt).FirstOrDefaultAsync(context.RequestAborted);
            var message = lockedUntil > clock.GetUtcNow()
                ? LockedMessage(lockedUntil.Value, clock)
                : "The email or password is incorrect.";
            return LoginPage(context, antiforgery, returnUrl, email, null, null, message, StatusCodes.Status400BadRequest);
        }

        if (options.Value.RequireVerifiedEmail && user.EmailVerifiedAt is null)
        {
            await security.QueueEmailVerificationAsync(user, user.Email, reminder: false, context.RequestAborted);
            await db.SaveChangesAsync(context.RequestAborted);
            return LoginPage(context, antiforgery, returnUrl, email, null, null,
                "Verify your email address first: we sent a new link to your inbox.", StatusCodes.Status403Forbidden);
        }

        if (user.TwoFactorEnabled)
        {
            return await BeginSecondStepAsync(context, user, returnUrl, "/account/two-factor");
        }

        if (await security.TwoFactorRequiredAsync(user.Id, context.RequestAborted))
        {
            return await BeginSecondStepAsync(context, user, returnUrl, "/account/two-factor/setup");
        }

        return await CompleteSignInAsync(context, user, PasswordOnly, returnUrl);
    }

    private static string LockedMessage(DateTimeOffset until, TimeProvider clock)
    {
        var minutes = Math.Max(1, (int)Math.Ceiling((until - clock.GetUtcNow()).TotalMinutes));
        return $"Too many failed attempts: this account is locked. Try again after {until.UtcDateTime:HH:mm} UTC " +
               $"(in about {minutes} minute{(minutes == 1 ? string.Empty : "s")}), or reset your password.";
    }

    // ---- Forgot and reset password ----
    private static IResult ForgotPasswordPage(HttpContext context, IAntiforgery antiforgery, string? returnUrl) =>
        ForgotPasswordForm(context, antiforgery, returnUrl, null, null, null);

    private static IResult ForgotPasswordForm(HttpContext context, IAntiforgery antiforgery, string? returnUrl, string? email,
        string? emailError, string? message, int status = StatusCodes.Status200OK)
    {
        var form = AccountHtml.Form(context, antiforgery, "/account/forgot-password", "Reset password", "Send reset link",
            [new AccountField("email", "Email", "email", email, "username", emailError)],
            new Dictionary<string, string?> { ["returnUrl"] = returnUrl },
            $"<p class=\"links\">{AccountHtml.Link(WithReturnUrl("/account/login", returnUrl), "Back to sign in")}</p>");
        return AccountHtml.Page("Forgot your password?",
            AccountHtml.Message(message) +
            AccountHtml.Paragraph("Enter the email address of your account. We will send you a link to choose a new password.") + form,
            status);
    }

    private static async Task<IResult> ForgotPasswordAsync(HttpContext context, IAntiforgery antiforgery, IMediator mediator,
        AccountSignInThrottle throttle, IOpenIddictApplicationManager applications)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return AntiforgeryFailed();
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var returnUrl = await SafeReturnUrlAsync(form["returnUrl"], applications, context.RequestAborted);
        var email = form["email"].ToString().Trim();
        var validation = new RequestPasswordResetValidator().Validate(new RequestPasswordReset(email));
        if (!validation.IsValid)
        {
            return ForgotPasswordForm(context, antiforgery, returnUrl, email, "Email " + validation.Errors[0].ErrorMessage,
                "Check the highlighted field.", StatusCodes.Status400BadRequest);
        }

        // Mail bombing one address is limited like password guessing; the answer is the same either way.
        if (throttle.TryAcquire("reset:" + email, out _))
        {
            var result = await mediator.Send(new RequestPasswordReset(email), context.RequestAborted);
            if (!result.IsSuccess)
            {
                throw new InvalidOperationException($"A validated reset request failed: {result.Error!.Detail}");
            }
        }

        return AccountHtml.Page("Check your inbox",
            AccountHtml.Message($"If an account exists for {email}, we sent it a link to choose a new password.", error: false) +
            AccountHtml.Paragraph(
                $"The link works once and expires in {(int)AccountSecurity.PasswordResetLifetime.TotalMinutes} minutes. " +
                "No mail? Check the spam folder or ask again.") +
            $"<p class=\"links\">{AccountHtml.Link(WithReturnUrl("/account/login", returnUrl), "Back to sign in")}</p>");
    }

    private static IResult ResetPasswordPage(HttpContext context, IAntiforgery antiforgery, string? token) =>
        ResetPasswordForm(context, antiforgery, token, null, null, null);

    private static IResult ResetPasswordForm(HttpContext context, IAntiforgery antiforgery, string? token, string? passwordError,
        string? confirmError, string? message, int status = StatusCodes.Status200OK)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            return InvalidResetLink(StatusCodes.Status400BadRequest);
        }

        var form = AccountHtml.Form(context, antiforgery, "/account/reset-password", "Choose a new password", "Set new password",
            [
                new AccountField("newPassword", "New password", "password", null, "new-password", passwordError,
                    Hint: "At least 12 characters, with at least 5 different ones."),
                new AccountField("confirmPassword", "Confirm new password", "password", null, "new-password", confirmError),
            ],
            new Dictionary<string, string?> { ["token"] = token });
        return AccountHtml.Page("Choose a new password",
            AccountHtml.Message(message) + AccountHtml.Paragraph("Setting a new password signs you out on every device.") + form, status);
    }

    private static async Task<IResult> ResetPasswordAsync(HttpContext context, IAntiforgery antiforgery, IMediator mediator)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return AntiforgeryFailed();
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var token = form["token"].ToString();
        var password = form["newPassword"].ToString();
        if (password != form["confirmPassword"].ToString())
        {
            return ResetPasswordForm(context, antiforgery, token, null, "The two passwords are not the same.",
                "Check the highlighted field.", StatusCodes.Status400BadRequest);
        }

        var result = await mediator.Send(new ResetPassword(token, password), context.RequestAborted);
        if (result.IsSuccess)
        {
            return AccountHtml.Page("Password changed",
                AccountHtml.Message("Your password was changed and you were signed out everywhere.", error: false) +
                $"<p>{AccountHtml.Link("/account/login", "Sign in with your new password")}</p>");
        }

        if (result.Error!.Code == "reset_link_invalid" || FieldError(result.Error, "token", "The link") is not null)
        {
            return InvalidResetLink(StatusCodes.Status400BadRequest);
        }

        var passwordError = FieldError(result.Error, "newPassword", "The new password") ?? result.Error.Detail;
        return ResetPasswordForm(context, antiforgery, token, passwordError, null, "Check the highlighted field.",
            StatusCodes.Status400BadRequest);
    }

    private static IResult InvalidResetLink(int status) =>
        AccountHtml.Page("This link does not work",
            AccountHtml.Message("This reset link is invalid, already used or expired.") +
            $"<p>{AccountHtml.Link("/account/forgot-password", "Ask for a new link")}</p>", status);

    // ---- Email verification ----
    private static IResult VerifyEmailPage(HttpContext context, IAntiforgery antiforgery, string? token)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            return InvalidVerificationLink();
        }

        // A button, not the GET itself, verifies: mail scanners that open links do not use the token up.
        var form = AccountHtml.Form(context, antiforgery, "/account/verify-email", "Verify email", "Verify my email address", [],
            new Dictionary<string, string?> { ["token"] = token });
        return AccountHtml.Page("Verify your email address",
            AccountHtml.Paragraph("Confirm that this address belongs to you to finish setting up your account.") + form);
    }

    private static async Task<IResult> VerifyEmailAsync(HttpContext context, IAntiforgery antiforgery, IMediator mediator)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return AntiforgeryFailed();
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var result = await mediator.Send(new VerifyEmail(form["token"].ToString()), context.RequestAborted);
        if (!result.IsSuccess)
        {
            return result.Error!.Code == "email_taken"
                ? AccountHtml.Page("This link does not work", AccountHtml.Message(result.Error.Detail), StatusCodes.Status409Conflict)
                : InvalidVerificationLink();
        }

        var text = result.Value.Changed
            ? $"Your email address is now {result.Value.Email}. Sign in again with it."
            : $"Thank you: {result.Value.Email} is verified.";
        return AccountHtml.Page("Email verified",
            AccountHtml.Message(text, error: false) + $"<p>{AccountHtml.Link("/account/login", "Go to sign in")}</p>");
    }

    private static IResult InvalidVerificationLink() =>
        AccountHtml.Page("This link does not work",
            AccountHtml.Message("This verification link is invalid, already used or expired. Sign in to get a new one.") +
            $"<p>{AccountHtml.Link("/account/login", "Go to sign in")}</p>", StatusCodes.Status400BadRequest);

    // ---- Second factor ----
    private static async Task<IResult> TwoFactorPageAsync(HttpContext context, IAntiforgery antiforgery, CatalogDbContext db,
        IOpenIddictApplicationManager applications, string? returnUrl)
    {
        var safe = await SafeReturnUrlAsync(returnUrl, applications, context.RequestAborted);
        return await PendingUserAsync(context, db) is not { TwoFactorEnabled: true }
            ? Results.Redirect(WithReturnUrl("/account/login", safe))
            : CodeForm(context, antiforgery, safe, null, null);
    }

    private static IResult CodeForm(HttpContext context, IAntiforgery antiforgery, string? returnUrl, string? codeError, string? message,
        int status = StatusCodes.Status200OK)
    {
        var form = AccountHtml.Form(context, antiforgery, "/account/two-factor", "Two-factor code", "Verify",
            [
                new AccountField("code", "Authentication code", "text", null, "one-time-code", codeError,
                    Hint: "The 6-digit code from your authenticator app.", InputMode: "numeric"),
            ],
            new Dictionary<string, string?> { ["returnUrl"] = returnUrl },
            $"<p class=\"links\">{AccountHtml.Link(WithReturnUrl("/account/recovery-code", returnUrl), "Use a recovery code instead")}" +
            "</p>");
        return AccountHtml.Page("Two-factor authentication", AccountHtml.Message(message) + form, status);
    }

    private static async Task<IResult> TwoFactorAsync(HttpContext context, IAntiforgery antiforgery, CatalogDbContext db,
        AccountSecurity security, AccountSignInThrottle throttle, IOpenIddictApplicationManager applications, TimeProvider clock)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return AntiforgeryFailed();
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var returnUrl = await SafeReturnUrlAsync(form["returnUrl"], applications, context.RequestAborted);
        var user = await PendingUserAsync(context, db);
        if (user is not { TwoFactorEnabled: true })
        {
            return SessionExpired(returnUrl);
        }

        if (SecondFactorRefusal(context, user, throttle, clock) is { } refusal)
        {
            return CodeForm(context, antiforgery, returnUrl, null, refusal.Message, refusal.Status);
        }

        if (!security.AcceptTotp(user, form["code"]))
        {
            await CountFailureAsync(db, user, clock, context.RequestAborted);
            return CodeForm(context, antiforgery, returnUrl, "That code is not valid. Enter the current code from your app.",
                "Check the highlighted field.", StatusCodes.Status400BadRequest);
        }

        user.AccessFailedCount = 0;
        await db.SaveChangesAsync(context.RequestAborted);
        return await CompleteSignInAsync(context, user, PasswordAndTotp, returnUrl);
    }

    private static async Task<IResult> RecoveryCodePageAsync(HttpContext context, IAntiforgery antiforgery, CatalogDbContext db,
        IOpenIddictApplicationManager applications, string? returnUrl)
    {
        var safe = await SafeReturnUrlAsync(returnUrl, applications, context.RequestAborted);
        return await PendingUserAsync(context, db) is not { TwoFactorEnabled: true }
            ? Results.Redirect(WithReturnUrl("/account/login", safe))
            : RecoveryForm(context, antiforgery, safe, null, null);
    }

    private static IResult RecoveryForm(HttpContext context, IAntiforgery antiforgery, string? returnUrl, string? codeError,
        string? message, int status = StatusCodes.Status200OK)
    {
        var form = AccountHtml.Form(context, antiforgery, "/account/recovery-code", "Sign in with a recovery code", "Sign in",
            [new AccountField("recoveryCode", "Recovery code", "text", null, "off", codeError, Hint: "One of the codes you saved, like "
                + "abcde-12345. Each code works once.")],
            new Dictionary<string, string?> { ["returnUrl"] = returnUrl },
            $"<p class=\"links\">{AccountHtml.Link(WithReturnUrl("/account/two-factor", returnUrl), "Use your authenticator app")}</p>");
        return AccountHtml.Page("Use a recovery code", AccountHtml.Message(message) + form, status);
    }

    private static async Task<IResult> RecoveryCodeAsync(HttpContext context, IAntiforgery antiforgery, CatalogDbContext db,
        AccountSecurity security, AccountSignInThrottle throttle, IOpenIddictApplicationManager applications, TimeProvider clock)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return AntiforgeryFailed();
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var returnUrl = await SafeReturnUrlAsync(form["returnUrl"], applications, context.RequestAborted);
        var user = await PendingUserAsync(context, db);
        if (user is not { TwoFactorEnabled: true })
        {
            return SessionExpired(returnUrl);
        }

        if (SecondFactorRefusal(context, user, throttle, clock) is { } refusal)
        {
            return RecoveryForm(context, antiforgery, returnUrl, null, refusal.Message, refusal.Status);
        }

        if (!await security.UseRecoveryCodeAsync(user, form["recoveryCode"], context.RequestAborted))
        {
            await CountFailureAsync(db, user, clock, context.RequestAborted);
            return RecoveryForm(context, antiforgery, returnUrl, "That recovery code is not valid or was already used.",
                "Check the highlighted field.", StatusCodes.Status400BadRequest);
        }

        user.AccessFailedCount = 0;
        await db.SaveChangesAsync(context.RequestAborted);
        return await CompleteSignInAsync(context, user, PasswordAndRecoveryCode, returnUrl);
    }

    // ---- Forced enrolment (an organization requires two-factor) ----
    private static async Task<IResult> SetupPageAsync(HttpContext context, IAntiforgery antiforgery, CatalogDbContext db,
        AccountSecurity security, IOpenIddictApplicationManager applications, string? returnUrl)
    {
        var safe = await SafeReturnUrlAsync(returnUrl, applications, context.RequestAborted);
        var user = await PendingUserAsync(context, db);
        if (user is null || user.TwoFactorEnabled)
        {
            return Results.Redirect(WithReturnUrl("/account/login", safe));
        }

        // Reloading the page keeps the key the user may already have scanned.
        var key = security.TwoFactorKey(user);
        if (key is null)
        {
            key = security.BeginTwoFactorEnrolment(user);
            await db.SaveChangesAsync(context.RequestAborted);
        }

        return SetupForm(context, antiforgery, user, key, safe, null, null);
    }

    private static IResult SetupForm(HttpContext context, IAntiforgery antiforgery, UserAccount user, string key, string? returnUrl,
        string? codeError, string? message, int status = StatusCodes.Status200OK)
    {
        var uri = AccountSecurity.OtpAuthUri(user, key);
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(uri, QRCodeGenerator.ECCLevel.M);
        var svg = new SvgQRCode(data).GetGraphic(4);
        var form = AccountHtml.Form(context, antiforgery, "/account/two-factor/setup", "Set up two-factor", "Turn on two-factor",
            [new AccountField("code", "Code from the app", "text", null, "one-time-code", codeError, InputMode: "numeric")],
            new Dictionary<string, string?> { ["returnUrl"] = returnUrl });
        var body = AccountHtml.Message(message) +
                   AccountHtml.Paragraph("Your organization requires two-factor sign-in. Scan this QR code with an authenticator app " +
                                         "(or type the key), then enter the 6-digit code it shows.") +
                   $"<figure class=\"qr\" role=\"img\" aria-label=\"QR code of the two-factor key\">{svg}</figure>" +
                   $"<p>Key: <span class=\"key\" data-testid=\"totp-key\">{AccountHtml.Encode(key)}</span></p>" + form;
        return AccountHtml.Page("Set up two-factor authentication", body, status);
    }

    private static async Task<IResult> SetupAsync(HttpContext context, IAntiforgery antiforgery, CatalogDbContext db,
        AccountSecurity security, AccountSignInThrottle throttle, IOpenIddictApplicationManager applications, TimeProvider clock)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return AntiforgeryFailed();
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var returnUrl = await SafeReturnUrlAsync(form["returnUrl"], applications, context.RequestAborted);
        var user = await PendingUserAsync(context, db);
        if (user is null || user.TwoFactorEnabled || security.TwoFactorKey(user) is not { } key)
        {
            return SessionExpired(returnUrl);
        }

        if (SecondFactorRefusal(context, user, throttle, clock) is { } refusal)
        {
            return SetupForm(context, antiforgery, user, key, returnUrl, null, refusal.Message, refusal.Status);
        }

        if (!security.AcceptTotp(user, form["code"]))
        {
            return SetupForm(context, antiforgery, user, key, returnUrl, "That code is not valid. Enter the current code from the app.",
                "Check the highlighted field.", StatusCodes.Status400BadRequest);
        }

        var codes = await security.EnableTwoFactorAsync(user, context.RequestAborted);
        await db.SaveChangesAsync(context.RequestAborted);
        await CompleteSignInAsync(context, user, PasswordAndTotp, returnUrl);
        var list = string.Concat(codes.Select(c => $"<li>{AccountHtml.Encode(c)}</li>"));
        return AccountHtml.Page("Save your recovery codes",
            AccountHtml.Message("Two-factor sign-in is on.", error: false) +
            AccountHtml.Paragraph("If you lose your phone, each of these codes signs you in once. Store them somewhere safe: " +
                                  "they are shown only now.") +
            $"<ul class=\"codes\" aria-label=\"Recovery codes\" data-testid=\"recovery-codes\">{list}</ul>" +
            $"<p>{AccountHtml.Link(returnUrl ?? "/account/signed-in", "Continue")}</p>");
    }

    // ---- Sessions ----
    private static async Task<IResult> BeginSecondStepAsync(HttpContext context, UserAccount user, string? returnUrl, string path)
    {
        var identity = new ClaimsIdentity(TwoFactorScheme, OpenIddictConstants.Claims.Name, OpenIddictConstants.Claims.Role);
        identity.AddClaim(new Claim(OpenIddictConstants.Claims.Subject, user.Id.ToString()));
        identity.AddClaim(new Claim(SecurityStampClaim, user.SecurityStamp));
        await context.SignInAsync(TwoFactorScheme, new ClaimsPrincipal(identity));
        return Results.Redirect(WithReturnUrl(path, returnUrl));
    }

    /// <summary>The user between password and second factor, while their credentials are unchanged.</summary>
    private static async Task<UserAccount?> PendingUserAsync(HttpContext context, CatalogDbContext db)
    {
        var pending = await context.AuthenticateAsync(TwoFactorScheme);
        if (!pending.Succeeded || !Guid.TryParse(pending.Principal.FindFirst(OpenIddictConstants.Claims.Subject)?.Value, out var id))
        {
            return null;
        }

        var stamp = pending.Principal.FindFirst(SecurityStampClaim)?.Value;
        return await db.Users.FirstOrDefaultAsync(u => u.Id == id && u.SecurityStamp == stamp, context.RequestAborted);
    }

    private static async Task<IResult> CompleteSignInAsync(HttpContext context, UserAccount user, string[] methods, string? returnUrl)
    {
        await context.SignOutAsync(TwoFactorScheme);
        var identity = new ClaimsIdentity(SignInEndpoints.SessionScheme, OpenIddictConstants.Claims.Name, OpenIddictConstants.Claims.Role);
        identity.AddClaim(new Claim(OpenIddictConstants.Claims.Subject, user.Id.ToString()));
        identity.AddClaim(new Claim(OpenIddictConstants.Claims.Name, user.Name));
        identity.AddClaim(new Claim(SecurityStampClaim, user.SecurityStamp));
        foreach (var method in methods)
        {
            identity.AddClaim(new Claim(AuthenticationMethodsClaim, method));
        }

        await context.SignInAsync(SignInEndpoints.SessionScheme, new ClaimsPrincipal(identity));
        return Results.Redirect(returnUrl ?? "/account/signed-in");
    }

    private static (string Message, int Status)? SecondFactorRefusal(HttpContext context, UserAccount user,
        AccountSignInThrottle throttle, TimeProvider clock)
    {
        if (user.LockoutEndsAt > clock.GetUtcNow())
        {
            return (LockedMessage(user.LockoutEndsAt.Value, clock), StatusCodes.Status403Forbidden);
        }

        if (!throttle.TryAcquire("2fa:" + user.Id, out var retryAfter))
        {
            var seconds = Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return ($"Too many attempts. Try again in {seconds} seconds.", StatusCodes.Status429TooManyRequests);
        }

        return null;
    }

    /// <summary>A wrong second factor counts like a wrong password: five lock the account for a while.</summary>
    private static async Task CountFailureAsync(CatalogDbContext db, UserAccount user, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        if (++user.AccessFailedCount >= TokenEndpoints.MaxFailedSignIns)
        {
            user.LockoutEndsAt = clock.GetUtcNow().Add(TokenEndpoints.LockoutDuration);
            user.AccessFailedCount = 0;
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    private static IResult SessionExpired(string? returnUrl) =>
        AccountHtml.Page("Sign in again",
            AccountHtml.Message("This sign-in took too long or your credentials changed. Please sign in again.") +
            $"<p>{AccountHtml.Link(WithReturnUrl("/account/login", returnUrl), "Sign in")}</p>", StatusCodes.Status400BadRequest);

    private static IResult AntiforgeryFailed() =>
        AccountHtml.Page("Please try again",
            AccountHtml.Message("The form expired or was not sent from this site. Go back, reload the page and try again.") +
            $"<p>{AccountHtml.Link("/account/login", "Go to sign in")}</p>", StatusCodes.Status400BadRequest);

    private static string WithReturnUrl(string path, string? returnUrl) =>
        string.IsNullOrEmpty(returnUrl) ? path : path + "?returnUrl=" + Uri.EscapeDataString(returnUrl);

    /// <summary>The validation message of a field as a sentence ("New password must be at least 12 characters.").</summary>
    private static string? FieldError(CleanCrm.Application.Common.Results.Error error, string field, string label) =>
        error.Errors is { } errors && errors.TryGetValue(field, out var messages) && messages.Length > 0
            ? $"{label} {messages[0]}"
            : null;
}
