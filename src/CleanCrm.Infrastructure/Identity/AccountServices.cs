using System.ComponentModel;
using CleanCrm.Application.Common.Identity;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Email;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Hangfire;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;

namespace CleanCrm.Infrastructure.Identity;

/// <summary>TOTP keys encrypted with the platform's Data Protection keys (kept in the catalog, shared by every instance).</summary>
public sealed class TwoFactorKeyProtector(IDataProtectionProvider dataProtection) : ITwoFactorKeyProtector
{
    private readonly IDataProtector _protector = dataProtection.CreateProtector("CleanCrm.TwoFactor.Key.v1");

    public string Protect(string key) => _protector.Protect(key);

    public string Unprotect(string protectedKey) => _protector.Unprotect(protectedKey);
}

/// <summary>Revokes every token and authorization OpenIddict stored for the user (refresh tokens, codes).</summary>
public sealed class OpenIddictSessionRevocation(IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations)
    : ISessionRevocation
{
    public async Task RevokeAllAsync(Guid userId, CancellationToken cancellationToken)
    {
        var subject = userId.ToString();
        await tokens.RevokeBySubjectAsync(subject, cancellationToken);
        await authorizations.RevokeBySubjectAsync(subject, cancellationToken);
    }
}

/// <summary>
/// Links to the account pages of the API: <c>CleanCrm:Email:AccountBaseUrl</c>, else the identity issuer, else the
/// address of the request being served.
/// </summary>
public sealed class AccountLinks(IOptions<EmailOptions> email, IConfiguration configuration, IHttpContextAccessor? http = null)
    : IAccountLinks
{
    public Uri ResetPasswordPage(string token) => new($"{Base}/account/reset-password?token={Uri.EscapeDataString(token)}");

    public Uri VerifyEmailPage(string token) => new($"{Base}/account/verify-email?token={Uri.EscapeDataString(token)}");

    private string Base
    {
        get
        {
            if (email.Value.AccountBaseUrl is { Length: > 0 } configured)
            {
                return configured.TrimEnd('/');
            }

            if (configuration["CleanCrm:Identity:Issuer"] is { Length: > 0 } issuer)
            {
                return issuer.TrimEnd('/');
            }

            var request = http?.HttpContext?.Request
                ?? throw new InvalidOperationException(
                    "Set CleanCrm:Email:AccountBaseUrl (or CleanCrm:Identity:Issuer): account links are built outside a request.");
            return $"{request.Scheme}://{request.Host}{request.PathBase}";
        }
    }
}

/// <summary>
/// Daily on the maintenance queue: owners who have not verified their email a day after signing up get one reminder
/// with a fresh link (docs/SECURITY.md, "Email verification").
/// </summary>
public sealed partial class EmailVerificationReminderJob(
    CatalogDbContext db,
    AccountSecurity security,
    IOptions<EmailOptions> email,
    IConfiguration configuration,
    ILogger<EmailVerificationReminderJob> logger,
    TimeProvider clock)
{
    public const string RecurringJobId = "email-verification-reminders";
    public static readonly TimeSpan RemindAfter = TimeSpan.FromDays(1);

    [Queue(HangfireStorage.MaintenanceQueue)]
    [AutomaticRetry(Attempts = 0)]
    [DisplayName("Remind owners to verify their email")]
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        // Outside a request the links need a configured address; without one, remind nobody rather than fail daily.
        if (string.IsNullOrEmpty(email.Value.AccountBaseUrl) && string.IsNullOrEmpty(configuration["CleanCrm:Identity:Issuer"]))
        {
            LogNoBaseUrl(logger);
            return 0;
        }

        var cutoff = clock.GetUtcNow().Subtract(RemindAfter);
        var owners = await db.Users
            .Where(u => u.EmailVerifiedAt == null && u.VerificationRemindedAt == null && u.CreatedAt < cutoff
                        && db.Memberships.Any(m => m.UserId == u.Id && m.Role == OrgRole.Owner))
            .OrderBy(u => u.CreatedAt).Take(500).ToListAsync(cancellationToken);
        foreach (var owner in owners)
        {
            owner.VerificationRemindedAt = clock.GetUtcNow();
            await security.QueueEmailVerificationAsync(owner, owner.Email, reminder: true, cancellationToken);
        }

        await db.SaveChangesAsync(cancellationToken);
        return owners.Count;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Email verification reminders skipped: set CleanCrm:Email:AccountBaseUrl or CleanCrm:Identity:Issuer for their links")]
    private static partial void LogNoBaseUrl(ILogger logger);

    /// <summary>Registers the recurring job (daily at 09:23 UTC, away from the hourly jobs).</summary>
    public static void Register(IRecurringJobManager manager)
    {
        ArgumentNullException.ThrowIfNull(manager);
        manager.AddOrUpdate<EmailVerificationReminderJob>(RecurringJobId, job => job.RunAsync(CancellationToken.None), "23 9 * * *");
    }
}
