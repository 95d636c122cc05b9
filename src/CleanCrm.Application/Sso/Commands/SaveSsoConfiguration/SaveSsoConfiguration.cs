using System.Text.RegularExpressions;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Sso.Commands.SaveSsoConfiguration;

/// <summary>Creates or replaces an organization's identity provider (<c>PUT /api/v1/orgs/{slug}/sso</c>, owners, Enterprise).</summary>
[RequiresSignedInUser]
public sealed record SaveSsoConfiguration(string Slug, SsoConfigurationFields Fields) : ICommand<Result<SsoConfigurationDto>>;

/// <summary>The identity provider's settings.</summary>
/// <param name="DisplayName">Shown on the sign-in page; defaults to the organization's name.</param>
/// <param name="Issuer">The provider's issuer (https; its discovery document is at issuer + /.well-known/openid-configuration).</param>
/// <param name="ClientSecret">Write-only: required the first time, kept when omitted later; stored only in the secret store.</param>
/// <param name="AllowedDomains">Email domains whose users sign in there (1 – 20); each belongs to one organization.</param>
/// <param name="Enforce">Members with these domains cannot sign in with a password.</param>
/// <param name="JitProvisioning">A first sign-in creates the user and the membership (with <paramref name="DefaultRole"/>).</param>
/// <param name="DefaultRole">admin, member (default) or readonly.</param>
public sealed record SsoConfigurationFields(
    string? DisplayName,
    string? Issuer,
    string? ClientId,
    string? ClientSecret,
    IReadOnlyList<string>? AllowedDomains,
    bool Enforce,
    bool JitProvisioning,
    string? DefaultRole);

public sealed partial class SaveSsoConfigurationValidator : AbstractValidator<SaveSsoConfiguration>
{
    public const int MaxDomains = 20;
    private static readonly string[] Roles = ["admin", "member", "readonly"];

    public SaveSsoConfigurationValidator()
    {
        RuleFor(x => x.Fields.DisplayName).MaximumLength(100).OverridePropertyName("displayName");
        RuleFor(x => x.Fields.Issuer).NotEmpty().MaximumLength(300).Must(BeAnIssuer)
            .WithMessage("must be an absolute https URL without query or fragment (http only for localhost).")
            .OverridePropertyName("issuer");
        RuleFor(x => x.Fields.ClientId).NotEmpty().MaximumLength(200).OverridePropertyName("clientId");
        RuleFor(x => x.Fields.ClientSecret).MaximumLength(500).OverridePropertyName("clientSecret");
        // Null-safe: FluentValidation runs every rule of the chain, so a missing list must not reach the count (docs/API.md, "Errors").
        RuleFor(x => x.Fields.AllowedDomains).NotEmpty().Must(d => d is null || d.Count <= MaxDomains)
            .WithMessage($"must list 1 to {MaxDomains} domains.")
            .Must(d => d is null || d.All(domain => Domain().IsMatch(Normalize(domain))))
            .WithMessage("must be domain names such as acme.example.")
            .Must(d => d!.Select(Normalize).Distinct(StringComparer.Ordinal).Count() == d!.Count)
            .WithMessage("must not repeat a domain.")
            .When(x => x.Fields.AllowedDomains is { Count: > 0 }, ApplyConditionTo.CurrentValidator)
            .OverridePropertyName("allowedDomains");
        RuleFor(x => x.Fields.DefaultRole).Must(r => r is null || Roles.Contains(r))
            .WithMessage("must be admin, member or readonly.").OverridePropertyName("defaultRole");
    }

    public static string Normalize(string domain) => (domain ?? string.Empty).Trim().ToLowerInvariant();

    private static bool BeAnIssuer(string? issuer) =>
        Uri.TryCreate(issuer, UriKind.Absolute, out var uri) && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback));

    [GeneratedRegex("^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$")]
    private static partial Regex Domain();
}

public sealed class SaveSsoConfigurationHandler(ICatalogDbContext db, ICallerContext caller, ISecretStore secrets, TimeProvider clock)
    : ICommandHandler<SaveSsoConfiguration, Result<SsoConfigurationDto>>
{
    public async ValueTask<Result<SsoConfigurationDto>> Handle(SaveSsoConfiguration command, CancellationToken cancellationToken)
    {
        var access = await SsoAccess.OwnedEnterpriseOrganizationAsync(db, caller, command.Slug, cancellationToken);
        if (!access.IsSuccess)
        {
            return access.Error!;
        }

        var organization = access.Value;
        var fields = command.Fields;
        var provider = await db.IdentityProviders.Include(p => p.Domains)
            .FirstOrDefaultAsync(p => p.OrganizationId == organization.Id, cancellationToken);
        if (provider is null && string.IsNullOrEmpty(fields.ClientSecret))
        {
            return Error.Validation("clientSecret", "is required when the identity provider is first configured.");
        }

        var domains = fields.AllowedDomains!.Select(SaveSsoConfigurationValidator.Normalize).ToList();
        var providerId = provider?.Id;
        var taken = await db.IdentityProviderDomains.AsNoTracking()
            .Where(d => domains.Contains(d.Domain) && d.ProviderId != providerId)
            .Select(d => d.Domain)
            .ToListAsync(cancellationToken);
        if (taken.Count > 0)
        {
            return Error.Conflict("sso_domain_taken",
                $"{string.Join(", ", taken)} already belongs to another organization's identity provider.");
        }

        var now = clock.GetUtcNow();
        if (provider is null)
        {
            var id = Guid.CreateVersion7();
            provider = new OrganizationIdentityProvider
            {
                Id = id,
                OrganizationId = organization.Id,
                DisplayName = organization.Name,
                Issuer = string.Empty,
                ClientId = string.Empty,
                ClientSecretName = SecretName.Ensure($"sso-client-{id:N}"),
                CreatedAt = now,
            };
            db.IdentityProviders.Add(provider);
        }

        if (!string.IsNullOrEmpty(fields.ClientSecret))
        {
            await secrets.SetAsync(provider.ClientSecretName, fields.ClientSecret, cancellationToken);
        }

        provider.DisplayName = string.IsNullOrWhiteSpace(fields.DisplayName) ? organization.Name : fields.DisplayName.Trim();
        provider.Issuer = fields.Issuer!.Trim();
        provider.ClientId = fields.ClientId!.Trim();
        provider.Enforce = fields.Enforce;
        provider.JitProvisioning = fields.JitProvisioning;
        provider.DefaultRole = Enum.Parse<OrgRole>(fields.DefaultRole ?? "member", ignoreCase: true);
        provider.UpdatedAt = now;
        provider.Domains.RemoveAll(d => !domains.Contains(d.Domain));
        foreach (var domain in domains.Where(d => provider.Domains.All(existing => existing.Domain != d)))
        {
            provider.Domains.Add(new IdentityProviderDomain { Domain = domain, ProviderId = provider.Id });
        }

        await db.SaveChangesAsync(cancellationToken);
        return SsoConfigurationDto.From(provider, secretSet: true);
    }
}
