using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>
/// Registers the first-party OAuth clients and the first platform admin (from configuration) at migration time. Existing
/// clients are updated to the configured redirect URIs and secret on every run, so changing them needs no manual step.
/// </summary>
public sealed class IdentityBootstrap(
    IServiceScopeFactory scopes,
    IDbContextFactory<CatalogDbContext> catalogFactory,
    IPasswordHashing passwords,
    IConfiguration configuration,
    TimeProvider clock)
{
    public const string CliClientId = "cleancrm-cli";
    public const string SpaClientId = "cleancrm-spa";
    public const string ConsoleClientId = "cleancrm-console";

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        await EnsureClientAsync(applications, new OpenIddictApplicationDescriptor
        {
            ClientId = CliClientId,
            ClientType = ClientTypes.Public,
            DisplayName = "CleanCrm first-party tools",
            Permissions =
            {
                Permissions.Endpoints.Token, Permissions.Endpoints.Revocation,
                Permissions.GrantTypes.Password, Permissions.GrantTypes.RefreshToken,
                Permissions.Scopes.Email, Permissions.Scopes.Profile, Permissions.Prefixes.Scope + "api", Permissions.Prefixes.Scope
                    + Scopes.OfflineAccess,
            },
        }, cancellationToken);

        var spa = new OpenIddictApplicationDescriptor
        {
            ClientId = SpaClientId,
            ClientType = ClientTypes.Public,
            DisplayName = "CleanCrm web app",
            Permissions =
            {
                Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.Endpoints.Revocation,
                    Permissions.Endpoints.EndSession,
                Permissions.GrantTypes.AuthorizationCode, Permissions.GrantTypes.RefreshToken, Permissions.ResponseTypes.Code,
                Permissions.Scopes.Email, Permissions.Scopes.Profile, Permissions.Prefixes.Scope + "api", Permissions.Prefixes.Scope
                    + Scopes.OfflineAccess,
            },
            Requirements = { Requirements.Features.ProofKeyForCodeExchange },
        };
        foreach (var uri in configuration.GetSection("CleanCrm:Identity:SpaRedirectUris").Get<string[]>()
            ?? ["http://localhost:5173/callback"])
        {
            spa.RedirectUris.Add(new Uri(uri));
        }

        await EnsureClientAsync(applications, spa, cancellationToken);
        if (ConsoleClient() is { } console)
        {
            await EnsureClientAsync(applications, console, cancellationToken);
        }

        await EnsureBootstrapAdminAsync(cancellationToken);
    }

    /// <summary>
    /// The provisioning console (docs/CONSOLE.md): a confidential client (code + PKCE) whose secret comes from
    /// <c>CleanCrm:Identity:ConsoleClientSecret</c>; without a secret it is not registered (or left as it is).
    /// </summary>
    private OpenIddictApplicationDescriptor? ConsoleClient()
    {
        var secret = configuration["CleanCrm:Identity:ConsoleClientSecret"];
        if (string.IsNullOrWhiteSpace(secret))
        {
            return null;
        }

        var console = new OpenIddictApplicationDescriptor
        {
            ClientId = ConsoleClientId,
            ClientSecret = secret,
            ClientType = ClientTypes.Confidential,
            DisplayName = "CleanCrm provisioning console",
            Permissions =
            {
                Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.Endpoints.EndSession,
                Permissions.GrantTypes.AuthorizationCode, Permissions.ResponseTypes.Code,
                Permissions.Scopes.Email, Permissions.Scopes.Profile,
            },
            Requirements = { Requirements.Features.ProofKeyForCodeExchange },
        };
        foreach (var uri in configuration.GetSection("CleanCrm:Identity:ConsoleRedirectUris").Get<string[]>()
            ?? ["http://127.0.0.1:5082/signin-oidc"])
        {
            console.RedirectUris.Add(new Uri(uri));
        }

        foreach (var uri in configuration.GetSection("CleanCrm:Identity:ConsolePostLogoutRedirectUris").Get<string[]>()
            ?? ["http://127.0.0.1:5082/signout-callback-oidc"])
        {
            console.PostLogoutRedirectUris.Add(new Uri(uri));
        }

        return console;
    }

    private static async Task EnsureClientAsync(IOpenIddictApplicationManager applications, OpenIddictApplicationDescriptor descriptor,
        CancellationToken cancellationToken)
    {
        if (await applications.FindByClientIdAsync(descriptor.ClientId!, cancellationToken) is { } existing)
        {
            // Redirect URIs, permissions and the secret follow the configuration (the secret is hashed again).
            await applications.UpdateAsync(existing, descriptor, cancellationToken);
            return;
        }

        await applications.CreateAsync(descriptor, cancellationToken);
    }

    private async Task EnsureBootstrapAdminAsync(CancellationToken cancellationToken)
    {
        var email = configuration["CleanCrm:Identity:BootstrapAdmin:Email"];
        if (string.IsNullOrWhiteSpace(email))
        {
            return;
        }

        await using var db = await catalogFactory.CreateDbContextAsync(cancellationToken);
        var normalized = UserAccount.Normalize(email);
        var user = await db.Users.FirstOrDefaultAsync(u => u.NormalizedEmail == normalized, cancellationToken);
        if (user is null)
        {
            var password = configuration["CleanCrm:Identity:BootstrapAdmin:Password"];
            user = new UserAccount
            {
                Email = email.Trim(),
                NormalizedEmail = normalized,
                Name = "Platform admin",
                PasswordHash = string.IsNullOrEmpty(password) ? null : passwords.Hash(password),
                CreatedAt = clock.GetUtcNow(),
            };
            db.Users.Add(user);
        }

        user.IsPlatformAdmin = true;
        await db.SaveChangesAsync(cancellationToken);
    }
}
