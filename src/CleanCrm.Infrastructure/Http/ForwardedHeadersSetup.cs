using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Http;

/// <summary>
/// Which reverse proxies the API and the console believe (section <c>CleanCrm:ForwardedHeaders</c>): their
/// <c>X-Forwarded-For/-Proto/-Host</c> set the client address, scheme and host. Nothing configured means the headers are
/// ignored, so a client talking to the process directly cannot choose its logged address or rate-limit partition
/// (docs/SECURITY.md "Reverse proxies and forwarded headers").
/// </summary>
public sealed class ForwardedHeadersTrustOptions
{
    public const string SectionName = "CleanCrm:ForwardedHeaders";

    /// <summary>Addresses of trusted proxies (e.g. <c>10.0.0.5</c>).</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>Networks of trusted proxies in CIDR notation (e.g. <c>172.28.0.0/16</c>, the compose network).</summary>
    public string[] KnownNetworks { get; set; } = [];

    /// <summary>
    /// How many proxies in a row are unwound (default 1: the entry the proxy next to the process appended). Raise it only
    /// when every proxy of the chain is in the lists; entries further left are the client's own words.
    /// </summary>
    public int ForwardLimit { get; set; } = 1;

    public bool Configured => KnownProxies.Length > 0 || KnownNetworks.Length > 0;
}

public static class ForwardedHeadersSetup
{
    /// <summary>Binds and validates the trust list; an unparsable address stops the process at startup.</summary>
    public static IServiceCollection AddCleanCrmForwardedHeaders(this IServiceCollection services, IConfiguration configuration)
    {
        var trust = Read(configuration);
        services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            // The defaults trust loopback; only what is configured is trusted.
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in trust.KnownProxies)
            {
                options.KnownProxies.Add(ParseAddress(proxy));
            }

            foreach (var network in trust.KnownNetworks)
            {
                options.KnownIPNetworks.Add(ParseNetwork(network));
            }

            // One hop by default: a proxy appends its peer to what the client sent, and if that peer is itself inside a
            // trusted network (a NAT gateway in the compose subnet) a longer walk would believe the client's entry.
            options.ForwardLimit = trust.ForwardLimit;
        });
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(trust));
        return services;
    }

    /// <summary>First in the pipeline, so rate limiting, audit, OpenIddict and cookies all see the client's values.</summary>
    public static IApplicationBuilder UseCleanCrmForwardedHeaders(this IApplicationBuilder app) =>
        app.ApplicationServices.GetRequiredService<IOptions<ForwardedHeadersTrustOptions>>().Value.Configured
            ? app.UseForwardedHeaders()
            : app;

    private static ForwardedHeadersTrustOptions Read(IConfiguration configuration)
    {
        var trust = configuration.GetSection(ForwardedHeadersTrustOptions.SectionName).Get<ForwardedHeadersTrustOptions>()
            ?? new ForwardedHeadersTrustOptions();
        trust.KnownProxies = [.. trust.KnownProxies.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => p.Trim())];
        trust.KnownNetworks = [.. trust.KnownNetworks.Where(n => !string.IsNullOrWhiteSpace(n)).Select(n => n.Trim())];
        if (trust.ForwardLimit is < 1 or > 10)
        {
            throw new InvalidOperationException($"{ForwardedHeadersTrustOptions.SectionName}:ForwardLimit must be between 1 and 10.");
        }

        foreach (var proxy in trust.KnownProxies)
        {
            ParseAddress(proxy);
        }

        foreach (var network in trust.KnownNetworks)
        {
            ParseNetwork(network);
        }

        return trust;
    }

    // IPAddress.TryParse accepts legacy forms ("10.0.0" is 10.0.0.0); a trust list wants every address written out.
    private static IPAddress? ParseAddressOrNull(string value) => IPAddress.TryParse(value, out var address)
        && (value.Contains(':', StringComparison.Ordinal) || value.Count(c => c == '.') == 3) ? address : null;

    private static IPAddress ParseAddress(string value) => ParseAddressOrNull(value)
        ?? throw new InvalidOperationException(
            $"{ForwardedHeadersTrustOptions.SectionName}:KnownProxies: '{value}' is not an IP address.");

    private static System.Net.IPNetwork ParseNetwork(string value) => value.Contains('/', StringComparison.Ordinal)
        && ParseAddressOrNull(value[..value.IndexOf('/', StringComparison.Ordinal)]) is not null
        && System.Net.IPNetwork.TryParse(value, out var network)
        ? network
        : throw new InvalidOperationException(
            $"{ForwardedHeadersTrustOptions.SectionName}:KnownNetworks: '{value}' is not a network in CIDR notation (e.g. 10.0.0.0/8).");
}
