using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using GrantSilo.Grains.Hosting;
using GrantSilo.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Access;

/// <summary>
/// How fast one authenticated caller may call through a silo's gateway (<c>GrantSilo:Callers</c>): a token bucket per
/// caller, as the HTTP API's per-caller limit (<c>GrantSilo:Http:PermitsPerSecond</c> and <c>Burst</c>) is for its door.
/// </summary>
public sealed class CallerLimitOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GrantSilo:Callers";

    /// <summary>
    /// Calls per second each authenticated caller may make through the gateway of one silo, on average (default 10,000:
    /// a tool gateway authorizing every action of many agents stays well inside it).
    /// </summary>
    [Range(1, 1_000_000, ErrorMessage = "GrantSilo:Callers:PermitsPerSecond must be between 1 and 1000000.")]
    public int PermitsPerSecond { get; set; } = 10_000;

    /// <summary>How many calls a caller may make at once above its average (the bucket's size; default 20,000).</summary>
    [Range(1, 1_000_000, ErrorMessage = "GrantSilo:Callers:Burst must be between 1 and 1000000.")]
    public int Burst { get; set; } = 20_000;

    /// <summary>
    /// How many callers' buckets one silo keeps (default 10,000). A caller's bucket goes once it has refilled (the caller
    /// has been quiet for a while); past this many the least recently used go too, so the table never grows without
    /// bound, however many identities call.
    /// </summary>
    [Range(16, 10_000_000, ErrorMessage = "GrantSilo:Callers:MaxTrackedCallers must be between 16 and 10000000.")]
    public int MaxTrackedCallers { get; set; } = 10_000;
}

/// <summary>
/// The door's per-caller token buckets (<see cref="CallerLimitOptions"/>) on the grant clock, keyed by the caller's
/// issuer and subject. A caller is only tracked once it has authenticated, so a flood of unauthenticated calls adds
/// nothing here. Not consulted for the cluster's own calls, nor for calls another door of the silo made for its caller
/// after limiting it by its own rate (the HTTP API: <see cref="ClusterCallKey.MatchesLimitedDoor"/>).
/// </summary>
internal sealed class CallerRates(IOptions<CallerLimitOptions> options, [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider clock)
{
    private readonly ConcurrentDictionary<(string Issuer, string Subject), Bucket> _buckets = new();
    private readonly Lock _sweep = new();

    /// <summary>How many callers' buckets are kept now.</summary>
    public int Tracked => _buckets.Count;

    /// <summary>
    /// Takes one call from <paramref name="caller"/>'s bucket. False when it is empty; <paramref name="retryAfter"/> is then
    /// how long until the caller may call again.
    /// </summary>
    public bool TryAcquire(Caller caller, out TimeSpan retryAfter)
    {
        var limits = options.Value;
        var now = clock.GetUtcNow();
        var key = (caller.Issuer, caller.Subject);
        if (!_buckets.TryGetValue(key, out var bucket))
        {
            if (_buckets.Count >= limits.MaxTrackedCallers)
            {
                Sweep(limits, now);
            }
            bucket = _buckets.GetOrAdd(key, static (_, state) => new Bucket(state.Burst, state.Now), (limits.Burst, Now: now));
        }
        return bucket.TryTake(limits, now, out retryAfter);
    }

    // Called only when the table is full: the buckets that have refilled hold nothing a fresh one would not, and go; if
    // that frees too little, the least recently used quarter goes too (each starts afresh, full, if it calls again).
    private void Sweep(CallerLimitOptions limits, DateTimeOffset now)
    {
        lock (_sweep)
        {
            if (_buckets.Count < limits.MaxTrackedCallers)
            {
                return;
            }
            foreach (var (key, bucket) in _buckets)
            {
                if (bucket.IsFull(limits, now))
                {
                    _buckets.TryRemove(key, out _);
                }
            }
            var target = limits.MaxTrackedCallers - limits.MaxTrackedCallers / 4;
            if (_buckets.Count <= target)
            {
                return;
            }
            foreach (var (key, _) in _buckets.ToArray().OrderBy(e => e.Value.LastUsed).Take(_buckets.Count - target))
            {
                _buckets.TryRemove(key, out _);
            }
        }
    }

    private sealed class Bucket(int tokens, DateTimeOffset now)
    {
        private readonly Lock _lock = new();
        private double _tokens = tokens;
        private DateTimeOffset _refilled = now;

        public DateTimeOffset LastUsed { get; private set; } = now;

        public bool TryTake(CallerLimitOptions limits, DateTimeOffset now, out TimeSpan retryAfter)
        {
            lock (_lock)
            {
                Refill(limits, now);
                LastUsed = now;
                if (_tokens >= 1)
                {
                    _tokens -= 1;
                    retryAfter = TimeSpan.Zero;
                    return true;
                }
                retryAfter = TimeSpan.FromSeconds((1 - _tokens) / limits.PermitsPerSecond);
                return false;
            }
        }

        public bool IsFull(CallerLimitOptions limits, DateTimeOffset now)
        {
            lock (_lock)
            {
                Refill(limits, now);
                return _tokens >= limits.Burst;
            }
        }

        private void Refill(CallerLimitOptions limits, DateTimeOffset now)
        {
            if (now > _refilled)
            {
                _tokens = Math.Min(limits.Burst, _tokens + (now - _refilled).TotalSeconds * limits.PermitsPerSecond);
                _refilled = now;
            }
        }
    }
}
