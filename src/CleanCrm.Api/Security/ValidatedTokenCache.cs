using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace CleanCrm.Api.Security;

/// <summary>
/// Validated access tokens and their principals, bounded in number, each kept until its token expires, with what the
/// answer depended on (<see cref="TokenBinding"/>). Only <see cref="BearerTokenHandler"/> reads and fills it.
/// </summary>
public sealed class ValidatedTokenCache(IOptions<IdentityOptions> options)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly int _capacity = options.Value.ValidatedTokenCacheSize;
    private int _pruning;

    public int Count => _entries.Count;

    /// <summary>False when sized 0 (<c>CleanCrm:Identity:ValidatedTokenCacheSize</c>).</summary>
    public bool Enabled => _capacity > 0;

    public bool TryGet(string token, DateTimeOffset now, out ClaimsPrincipal principal) => TryGet(token, now, out principal, out _);

    public bool TryGet(string token, DateTimeOffset now, out ClaimsPrincipal principal, out TokenBinding? binding)
    {
        if (_entries.TryGetValue(token, out var entry))
        {
            if (entry.Expires > now)
            {
                principal = entry.Principal;
                binding = entry.Binding;
                return true;
            }

            _entries.TryRemove(new KeyValuePair<string, Entry>(token, entry));
        }

        principal = null!;
        binding = null;
        return false;
    }

    public void Remove(string token) => _entries.TryRemove(token, out _);

    public void Add(string token, ClaimsPrincipal principal, DateTimeOffset expires, DateTimeOffset now, TokenBinding? binding = null)
    {
        if (_capacity <= 0 || expires <= now)
        {
            return;
        }

        if (_entries.Count >= _capacity)
        {
            Prune(now);
            if (_entries.Count >= _capacity)
            {
                return;
            }
        }

        _entries[token] = new Entry(principal, expires, binding);
    }

    // Drops expired entries; when every entry is still live, drops the ones expiring first (half the cache) so a flood
    // of distinct tokens costs validations, never unbounded memory. One pruner at a time; others just skip caching.
    private void Prune(DateTimeOffset now)
    {
        if (Interlocked.Exchange(ref _pruning, 1) == 1)
        {
            return;
        }

        try
        {
            foreach (var (key, entry) in _entries)
            {
                if (entry.Expires <= now)
                {
                    _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
                }
            }

            if (_entries.Count >= _capacity)
            {
                foreach (var (key, entry) in _entries.OrderBy(e => e.Value.Expires).Take(_entries.Count / 2).ToList())
                {
                    _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
                }
            }
        }
        finally
        {
            Volatile.Write(ref _pruning, 0);
        }
    }

    private sealed record Entry(ClaimsPrincipal Principal, DateTimeOffset Expires, TokenBinding? Binding);
}
