using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using CleanCrm.Application.Common.Identity;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CleanCrm.Infrastructure.Identity;

/// <summary>
/// Sign-in sessions as OpenIddict authorizations: each interactive or password sign-in creates one (with the user agent
/// and address in its properties), refresh tokens stay in its chain, and revoking it revokes the chain and records a
/// <see cref="SessionRevocation"/> so its access tokens are refused too (docs/SECURITY.md, "Sessions").
/// </summary>
public sealed class UserSessionStore(
    CatalogDbContext db,
    IOpenIddictAuthorizationManager authorizations,
    IOpenIddictApplicationManager applications,
    IOpenIddictTokenManager tokens,
    SessionRevocations revocations,
    TimeProvider clock) : IUserSessions
{
    public const string UserAgentProperty = "user_agent";
    public const string IpAddressProperty = "ip_address";
    public const string LastUsedProperty = "last_used_at";
    private const int MaxUserAgentLength = 300;

    /// <summary>Creates the session of a sign-in and attaches it to the principal the tokens are issued from.</summary>
    public async Task StartAsync(ClaimsPrincipal principal, string? clientId, string? userAgent, string? ipAddress,
        CancellationToken cancellationToken)
    {
        var application = clientId is null ? null : await applications.FindByClientIdAsync(clientId, cancellationToken);
        var now = clock.GetUtcNow();
        var descriptor = new OpenIddictAuthorizationDescriptor
        {
            ApplicationId = application is null ? null : await applications.GetIdAsync(application, cancellationToken),
            CreationDate = now,
            Principal = principal,
            Status = Statuses.Valid,
            Subject = principal.GetClaim(Claims.Subject),
            Type = AuthorizationTypes.AdHoc,
        };
        descriptor.Scopes.UnionWith(principal.GetScopes());
        foreach (var (name, value) in Usage(userAgent, ipAddress, now))
        {
            descriptor.Properties[name] = JsonSerializer.SerializeToElement(value);
        }

        var authorization = await authorizations.CreateAsync(descriptor, cancellationToken);
        principal.SetAuthorizationId(await authorizations.GetIdAsync(authorization, cancellationToken));
    }

    /// <summary>Records a use of the session (a refresh): when, from which address and program.</summary>
    public async Task TouchAsync(string? sessionId, string? userAgent, string? ipAddress, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(sessionId, out var id)
            || await db.Set<OpenIddictEntityFrameworkCoreAuthorization<Guid>>().FirstOrDefaultAsync(a => a.Id == id, cancellationToken)
                is not { } authorization)
        {
            return;
        }

        var properties = (string.IsNullOrEmpty(authorization.Properties) ? null : JsonNode.Parse(authorization.Properties)) as JsonObject
            ?? [];
        foreach (var (name, value) in Usage(userAgent, ipAddress, clock.GetUtcNow()))
        {
            properties[name] = value;
        }

        authorization.Properties = properties.ToJsonString();
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            // Two refreshes of one session at once: either's usage is good enough.
        }
    }

    public async Task<IReadOnlyList<UserSession>> ListAsync(Guid userId, CancellationToken cancellationToken)
    {
        var subject = userId.ToString();
        var now = clock.GetUtcNow().UtcDateTime;
        var rows = await db.Set<OpenIddictEntityFrameworkCoreAuthorization<Guid>>().AsNoTracking()
            .Where(a => a.Subject == subject && a.Status == Statuses.Valid
                && a.Tokens.Any(t => t.Status == Statuses.Valid && t.ExpirationDate > now))
            .OrderByDescending(a => a.CreationDate)
            .Select(a => new { a.Id, a.CreationDate, a.Properties, a.Application!.ClientId, a.Application.DisplayName })
            .ToListAsync(cancellationToken);
        return
        [
            .. rows.Select(row =>
            {
                var properties = string.IsNullOrEmpty(row.Properties) ? null : JsonNode.Parse(row.Properties) as JsonObject;
                var lastUsed = properties?[LastUsedProperty]?.GetValue<string>() is { } text
                    && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
                        System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed)
                    ? parsed : (DateTimeOffset?)null;
                var created = row.CreationDate is { } date ? new DateTimeOffset(DateTime.SpecifyKind(date, DateTimeKind.Utc)) : lastUsed;
                return new UserSession(row.Id, row.ClientId, row.DisplayName, properties?[UserAgentProperty]?.GetValue<string>(),
                    properties?[IpAddressProperty]?.GetValue<string>(), created ?? DateTimeOffset.UnixEpoch, lastUsed);
            }),
        ];
    }

    public async Task<bool> RevokeAsync(Guid userId, Guid sessionId, CancellationToken cancellationToken)
    {
        var subject = userId.ToString();
        if (!await db.Set<OpenIddictEntityFrameworkCoreAuthorization<Guid>>()
                .AnyAsync(a => a.Id == sessionId && a.Subject == subject, cancellationToken))
        {
            return false;
        }

        var id = sessionId.ToString();
        if (await authorizations.FindByIdAsync(id, cancellationToken) is { } authorization)
        {
            await authorizations.TryRevokeAsync(authorization, cancellationToken);
        }

        await tokens.RevokeByAuthorizationIdAsync(id, cancellationToken);
        await RecordAsync([Row(userId, sessionId)], cancellationToken);
        return true;
    }

    public async Task<int> RevokeAllAsync(Guid userId, CancellationToken cancellationToken)
    {
        var subject = userId.ToString();
        var sessions = await db.Set<OpenIddictEntityFrameworkCoreAuthorization<Guid>>().AsNoTracking()
            .Where(a => a.Subject == subject && a.Status == Statuses.Valid)
            .Select(a => a.Id)
            .ToListAsync(cancellationToken);
        var live = (await ListAsync(userId, cancellationToken)).Count;
        await authorizations.RevokeBySubjectAsync(subject, cancellationToken);
        await tokens.RevokeBySubjectAsync(subject, cancellationToken);

        // A new stamp refuses refresh tokens however they were issued; the user-wide row refuses cookies and access tokens.
        await db.Users.Where(u => u.Id == userId)
            .ExecuteUpdateAsync(u => u.SetProperty(x => x.SecurityStamp, Guid.NewGuid().ToString("N")), cancellationToken);
        await RecordAsync([Row(userId, null), .. sessions.Select(s => Row(userId, s))], cancellationToken);
        return live;
    }

    private async Task RecordAsync(IReadOnlyList<SessionRevocation> rows, CancellationToken cancellationToken)
    {
        db.SessionRevocations.AddRange(rows);
        await db.SaveChangesAsync(cancellationToken);
        revocations.Apply(rows);
    }

    private SessionRevocation Row(Guid userId, Guid? sessionId)
    {
        var now = clock.GetUtcNow();
        return new SessionRevocation
        {
            UserId = userId,
            AuthorizationId = sessionId,
            RevokedAt = now,
            ExpiresAt = now + SessionRevocation.Horizon,
        };
    }

    private static IEnumerable<(string Name, string Value)> Usage(string? userAgent, string? ipAddress, DateTimeOffset now)
    {
        if (!string.IsNullOrWhiteSpace(userAgent))
        {
            yield return (UserAgentProperty, userAgent.Length > MaxUserAgentLength ? userAgent[..MaxUserAgentLength] : userAgent);
        }

        if (!string.IsNullOrWhiteSpace(ipAddress))
        {
            yield return (IpAddressProperty, ipAddress);
        }

        yield return (LastUsedProperty, now.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
    }
}
