namespace CleanCrm.Application.Common.Identity;

/// <summary>Encrypts two-factor keys at rest (the catalog never holds a usable TOTP key).</summary>
public interface ITwoFactorKeyProtector
{
    string Protect(string key);

    string Unprotect(string protectedKey);
}

/// <summary>Ends a user's sessions at the OpenID Connect server: every refresh token and authorization of the user is revoked.</summary>
public interface ISessionRevocation
{
    Task RevokeAllAsync(Guid userId, CancellationToken cancellationToken);
}

/// <summary>Absolute links to the API's own account pages (<c>/account/*</c>) that mails point to.</summary>
public interface IAccountLinks
{
    Uri ResetPasswordPage(string token);

    Uri VerifyEmailPage(string token);
}
