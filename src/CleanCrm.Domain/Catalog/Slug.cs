using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace CleanCrm.Domain.Catalog;

/// <summary>The URL-safe handle of an organization: <c>^[a-z][a-z0-9-]{2,39}$</c> and not a reserved word.</summary>
public readonly partial record struct Slug
{
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "admin", "administrator", "api", "app", "apps", "auth", "billing", "blog", "cdn", "cleancrm", "connect",
        "dashboard", "docs", "help", "internal", "login", "logout", "mail", "me", "metrics", "new", "null",
        "oauth", "orgs", "org", "platform", "root", "settings", "signup", "signin", "static", "status", "support",
        "swagger", "system", "team", "tenant", "tenants", "undefined", "webhooks", "www",
    };

    private Slug(string value) => Value = value;

    public string Value { get; }

    [GeneratedRegex("^[a-z][a-z0-9-]{2,39}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsReserved(string value) => Reserved.Contains(value);

    public static bool HasValidShape([NotNullWhen(true)] string? value) => value is not null && Pattern().IsMatch(value);

    public static bool TryCreate(string? value, out Slug slug)
    {
        slug = default;
        if (!HasValidShape(value) || IsReserved(value))
        {
            return false;
        }

        slug = new Slug(value);
        return true;
    }

    public static Slug Create(string value) =>
        TryCreate(value, out var slug) ? slug : throw new ArgumentException($"'{value}' is not a valid organization slug.", nameof(value));

    public override string ToString() => Value;
}
