using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations.Enrichment;

/// <summary>Limits of <see cref="SafeHttpFetcher"/> (<c>CleanCrm:Integrations:Enrichment</c>).</summary>
public sealed class SafeFetchOptions
{
    public const string SectionName = "CleanCrm:Integrations:Enrichment";

    public int MaxBytes { get; set; } = 1024 * 1024;

    public int TimeoutSeconds { get; set; } = 10;

    public int MaxRedirects { get; set; } = 3;

    /// <summary>
    /// Hosts that may resolve to private, loopback or link-local addresses (tests' local stubs). Empty in production: every
    /// such target is refused.
    /// </summary>
    public List<string> AllowPrivateHosts { get; set; } = [];
}

/// <summary>Why a fetch was refused or failed; <see cref="None"/> on success.</summary>
public enum FetchRefusal
{
    None,
    Scheme,
    PrivateAddress,
    TooManyRedirects,
    TooLarge,
    ContentType,
    Failed,
}

/// <summary>The status code a POST got, or why it was refused or failed (<see cref="Error"/> names a transport failure).</summary>
public sealed record PostResult(FetchRefusal Refusal, int? StatusCode, string? Error = null);

public sealed record FetchResult(FetchRefusal Refusal, byte[]? Body = null, string? ContentType = null, Uri? FinalUri = null)
{
    public bool Succeeded => Refusal == FetchRefusal.None;
}

/// <summary>
/// Fetches third-party URLs (company sites, their icons) without becoming a proxy into our network (SSRF): only http and
/// https; every address a host resolves to is checked <em>at connect time</em> (the socket connects to the checked address,
/// so DNS rebinding cannot swap it) against loopback, private, link-local (cloud metadata at 169.254.169.254),
/// carrier-grade NAT, multicast and unspecified ranges; redirects are followed by hand and checked the same way; the body
/// is capped in size and time and its content type checked.
/// </summary>
public sealed class SafeHttpFetcher : IDisposable
{
    private readonly SafeFetchOptions _options;
    private readonly HttpClient _client;

    public SafeHttpFetcher(IOptions<SafeFetchOptions> options)
    {
        _options = options.Value;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(_options.TimeoutSeconds),
            ConnectCallback = ConnectAsync,
        };
        _client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(_options.TimeoutSeconds) };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("CleanCrm-Enrichment", "1.0"));
    }

    public async Task<FetchResult> GetAsync(Uri uri, Func<string, bool> acceptContentType, CancellationToken cancellationToken)
    {
        var current = uri;
        for (var hop = 0; hop <= _options.MaxRedirects; hop++)
        {
            if (!current.IsAbsoluteUri || current.Scheme is not ("http" or "https"))
            {
                return new FetchResult(FetchRefusal.Scheme);
            }

            // Literal addresses are refused before any connection; host names are checked when connecting.
            if (IPAddress.TryParse(current.IdnHost.Trim('[', ']'), out var literal) && IsForbidden(literal)
                && !AllowsPrivate(current.IdnHost))
            {
                return new FetchResult(FetchRefusal.PrivateAddress);
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            HttpResponseMessage response;
            try
            {
                response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (HttpRequestException exception) when (exception.InnerException is ForbiddenAddressException)
            {
                return new FetchResult(FetchRefusal.PrivateAddress);
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException
                                                  && !cancellationToken.IsCancellationRequested)
            {
                return new FetchResult(FetchRefusal.Failed);
            }

            using (response)
            {
                if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
                {
                    current = Resolve(current, location);
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    return new FetchResult(FetchRefusal.Failed);
                }

                var type = response.Content.Headers.ContentType?.MediaType ?? string.Empty;
                if (!acceptContentType(type))
                {
                    return new FetchResult(FetchRefusal.ContentType);
                }

                if (response.Content.Headers.ContentLength > _options.MaxBytes)
                {
                    return new FetchResult(FetchRefusal.TooLarge);
                }

                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                using var buffer = new MemoryStream();
                var chunk = new byte[16 * 1024];
                int read;
                while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
                {
                    if (buffer.Length + read > _options.MaxBytes)
                    {
                        return new FetchResult(FetchRefusal.TooLarge);
                    }

                    buffer.Write(chunk, 0, read);
                }

                return new FetchResult(FetchRefusal.None, buffer.ToArray(), type, current);
            }
        }

        return new FetchResult(FetchRefusal.TooManyRedirects);
    }

    /// <summary>
    /// POSTs <paramref name="body"/> under the same address rules (outgoing webhooks): no redirect is followed (a 3xx is the
    /// receiver's answer), the response body is drained up to the size cap and not kept. Answers the status code, or the refusal.
    /// </summary>
    public async Task<PostResult> PostAsync(Uri uri, byte[] body, string contentType, IEnumerable<KeyValuePair<string, string>> headers,
        CancellationToken cancellationToken)
    {
        if (Refuse(uri) is { } refusal)
        {
            return new PostResult(refusal, null);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var chunk = new byte[16 * 1024];
            long total = 0;
            int read;
            while (total <= _options.MaxBytes && (read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
            {
                total += read;
            }

            return new PostResult(FetchRefusal.None, (int)response.StatusCode);
        }
        catch (HttpRequestException exception) when (exception.InnerException is ForbiddenAddressException)
        {
            return new PostResult(FetchRefusal.PrivateAddress, null);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or IOException
                                              && !cancellationToken.IsCancellationRequested)
        {
            return new PostResult(FetchRefusal.Failed, null, exception is TaskCanceledException ? "timeout" : exception.Message);
        }
    }

    /// <summary>The refusal for a URL that is not http(s) or names a forbidden literal address; null when it may be tried.</summary>
    public FetchRefusal? Refuse(Uri uri)
    {
        if (!uri.IsAbsoluteUri || uri.Scheme is not ("http" or "https"))
        {
            return FetchRefusal.Scheme;
        }

        return IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var literal) && IsForbidden(literal) && !AllowsPrivate(uri.IdnHost)
            ? FetchRefusal.PrivateAddress
            : null;
    }

    /// <summary>
    /// True when every address <paramref name="host"/> resolves to may be called (or the host is allow-listed); the check that
    /// counts is the one at connect time, this one lets a form refuse the URL up front.
    /// </summary>
    public async Task<bool> HostAllowedAsync(string host, CancellationToken cancellationToken)
    {
        if (AllowsPrivate(host))
        {
            return true;
        }

        try
        {
            var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(host, cancellationToken);
            return !addresses.Any(IsForbidden);
        }
        catch (SocketException)
        {
            return true; // Not resolvable now: refused at connect time if it ever resolves to a forbidden address.
        }
    }

    /// <summary>
    /// The target of a redirect. On Unix a path-only <c>Location</c> such as <c>/logo.png</c> parses as the absolute
    /// <c>file:///logo.png</c>, so a value starting with <c>/</c> is resolved against the current URL like any relative one.
    /// </summary>
    internal static Uri Resolve(Uri current, Uri location) =>
        !location.IsAbsoluteUri || location.OriginalString.StartsWith('/')
            ? new Uri(current, location.OriginalString)
            : location;

    /// <summary>Loopback, private, link-local, CGNAT, multicast, unspecified, documentation/benchmark and IPv6 equivalents.</summary>
    public static bool IsForbidden(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
            || address.Equals(IPAddress.Broadcast))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] is 0 or 10 or 127 || b[0] >= 224
                || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)
                || (b[0] == 198 && b[1] is 18 or 19);
        }

        return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6Teredo
            || address.IsIPv6UniqueLocal;
    }

    private bool AllowsPrivate(string host) => _options.AllowPrivateHosts.Contains(host, StringComparer.OrdinalIgnoreCase);

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        if (addresses.Length == 0 || (!AllowsPrivate(host) && addresses.Any(IsForbidden)))
        {
            throw new ForbiddenAddressException(host);
        }

        // Connect to the addresses just checked, never to a second resolution of the name; a socket whose connect failed
        // cannot be reused, so each address gets its own.
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(address, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException exception)
            {
                socket.Dispose();
                last = exception;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    public void Dispose() => _client.Dispose();

    private sealed class ForbiddenAddressException(string host)
        : IOException($"'{host}' resolves to an address that may not be fetched (private, loopback or link-local).");
}
