using System.Collections.Concurrent;

namespace GrantSilo.Identity;

/// <summary>
/// Verified callers by SHA-256 of their token, until the token expires (exp + clock skew, exactly when a
/// fresh verification would refuse it) or the issuer's key set changes (an entry remembers the key-set
/// generation it was verified under). Bounded: when full, expired and stale entries go first, then enough
/// others to leave a tenth free.
/// </summary>
internal sealed class VerifiedCallerCache(int capacity)
{
    private readonly ConcurrentDictionary<TokenHash, Entry> _entries = new();
    private readonly Lock _sweepLock = new();
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public bool TryGet(in TokenHash hash, DateTimeOffset now, out AuthenticationResult result)
    {
        if (_entries.TryGetValue(hash, out var entry))
        {
            if (entry.IsValid(now))
            {
                result = entry.Result;
                return true;
            }

            Remove(hash, entry);
        }

        result = null!;
        return false;
    }

    public void Add(in TokenHash hash, AuthenticationResult result, IssuerRuntime issuer, long generation, DateTimeOffset validUntil, DateTimeOffset now)
    {
        if (Count >= capacity)
        {
            Sweep(now);
        }

        if (_entries.TryAdd(hash, new Entry(result, issuer, generation, validUntil)))
        {
            Interlocked.Increment(ref _count);
        }
    }

    /// <summary>Drops every entry of <paramref name="issuer"/> (its key set changed).</summary>
    public void RemoveIssuer(IssuerRuntime issuer)
    {
        foreach (var pair in _entries)
        {
            if (ReferenceEquals(pair.Value.Issuer, issuer))
            {
                Remove(pair.Key, pair.Value);
            }
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        lock (_sweepLock)
        {
            if (Count < capacity)
            {
                return;
            }

            foreach (var pair in _entries)
            {
                if (!pair.Value.IsValid(now))
                {
                    Remove(pair.Key, pair.Value);
                }
            }

            var target = capacity - Math.Max(1, capacity / 10);
            foreach (var pair in _entries)
            {
                if (Count <= target)
                {
                    break;
                }

                Remove(pair.Key, pair.Value);
            }
        }
    }

    private void Remove(TokenHash hash, Entry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<TokenHash, Entry>(hash, entry)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private sealed class Entry(AuthenticationResult result, IssuerRuntime issuer, long generation, DateTimeOffset validUntil)
    {
        public AuthenticationResult Result { get; } = result;

        public IssuerRuntime Issuer { get; } = issuer;

        public bool IsValid(DateTimeOffset now) => now < validUntil && Issuer.Keys.Current?.Generation == generation;
    }
}
