using Orleans.Concurrency;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Leases;

/// <summary>A grain that may hold decision leases: told to drop them when a source's state changes.</summary>
[Alias("grantsilo.ILeaseHolderGrain")]
internal interface ILeaseHolderGrain : IGrainWithStringKey
{
    /// <summary>
    /// Drops every lease this grain holds (and, for a task, every lease it granted on the strength of
    /// them). Returns once nothing it answers from relies on them. Interleaves, so it never waits on a
    /// busy holder.
    /// </summary>
    [AlwaysInterleave, RunsWhenFenced, Alias("InvalidateLeases")]
    Task InvalidateLeasesAsync();
}

/// <summary>
/// The source side of decision leases. A source (an agent, a task or a session) that answers "usable"
/// may let the asker rely on that answer for a short lease instead of asking on every decision, in
/// exchange for a promise: before the source acknowledges a change that ends its usability (a
/// revocation, completion, suspension or end), it tells every holder whose lease may still be running,
/// and waits for each to confirm it dropped the lease — or, for a holder it cannot reach, for that
/// lease to run out. So a change is in force everywhere the moment it is acknowledged, exactly as if
/// every decision had asked (Gray and Cheriton's leases).
/// </summary>
/// <remarks>
/// <para>Lease time is measured on a monotonic clock (<see cref="Hosting.GrantSiloTime.LeaseClockKey"/>), never
/// on the clock that decides validity: a holder counts its lease from before it sent the request, the
/// source from when it granted it, so the holder's lease always ends first in real time, with no need
/// for synchronized clocks. Outwaiting re-reads the clock until the deadline plus <see cref="Margin"/>
/// has passed: timers may fire early, and two machines' monotonic clocks may run at slightly
/// different rates.</para>
/// <para>A source that is activated again over existing state cannot know which holders an earlier
/// activation (perhaps on a silo that crashed) leased to, so for one lease duration after activation
/// it acknowledges a change only once any such lease must have run out.</para>
/// <para>A holder stays in the ledger until it has confirmed or its lease has run out: invalidations
/// that overlap (a task told by its agent and by an ancestor at once) each wait for the same telling,
/// and none returns while a holder it covers may still rely on its lease.</para>
/// <para>The ledger holds at most a configured number of holders. When it is full (after dropping leases that ran
/// out), a further holder is granted a zero-length lease and not recorded: its decisions ask every time, so a full
/// ledger costs speed, never the promise.</para>
/// <para>Only time-independent facts rest on a lease. Expiry, checkpoints and idle deadlines travel
/// with the answer as instants on the validity clock, and the holder checks them at every decision.</para>
/// </remarks>
internal sealed class LeaseLedger
{
    private static readonly TimeSpan MinimumMargin = TimeSpan.FromMilliseconds(5);

    private readonly Dictionary<GrainId, Holder> _holders = [];
    private readonly TimeProvider _clock;
    private readonly TimeSpan _duration;
    private readonly int _maxHolders;
    private long _graceEndsAt;

    // Pruning visits every holder, so it runs only once the ledger has doubled since the last prune (amortized O(1) per
    // grant, where pruning on every new holder made n grants cost O(n²)), or when full and a lease may have run out.
    private const int MinPruneAt = 256;
    private int _pruneAt = MinPruneAt;

    // No recorded lease that was running at the last prune, or granted since, ends before this (a lower bound, as leases
    // only grow): a full ledger prunes only after it.
    private long _noneEndsBefore = long.MaxValue;

    /// <summary>The holder bound when none is given.</summary>
    public const int DefaultMaxHolders = 10_000;

    public LeaseLedger(TimeProvider clock, TimeSpan duration, int maxHolders = DefaultMaxHolders)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHolders, 1);
        _clock = clock;
        _duration = duration;
        _maxHolders = maxHolders;
        Margin = MarginFor(duration);
    }

    /// <summary>How long a lease lasts; zero when leases are off and every decision asks.</summary>
    public TimeSpan Duration => _duration;

    /// <summary>
    /// How long past a lease's end a source waits before it treats the lease as over: twice the
    /// largest clock-rate difference over a lease, and never less than 5 ms (timer resolution).
    /// </summary>
    public TimeSpan Margin { get; }

    /// <summary>The outwait margin for leases of <paramref name="duration"/>.</summary>
    public static TimeSpan MarginFor(TimeSpan duration)
    {
        var drift = duration * (2 * Hosting.GrantSiloOptions.MaxClockRateDifference);
        return drift > MinimumMargin ? drift : MinimumMargin;
    }

    /// <summary>How many holders may still rely on a lease (including those being told now).</summary>
    public int Count => _holders.Count;

    /// <summary>
    /// Called on activation over existing state: an earlier activation may have granted leases this one
    /// does not know of, so changes wait until they must have run out.
    /// </summary>
    public void StartGrace()
    {
        if (_duration > TimeSpan.Zero)
        {
            _graceEndsAt = _clock.GetTimestamp() + ToTicks(_duration);
        }
    }

    /// <summary>
    /// Grants <paramref name="holder"/> a lease of at most <paramref name="cap"/> (the remaining time of
    /// the leases this grant itself rests on) and returns its length; zero means "ask every time".
    /// Must be called in the same turn as the check whose answer it leases. A holder not yet recorded gets zero
    /// while the ledger is full of leases still running.
    /// </summary>
    public TimeSpan Grant(GrainId holder, TimeSpan cap)
    {
        var length = cap < _duration ? cap : _duration;
        if (length <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }
        var now = _clock.GetTimestamp();
        var until = now + ToTicks(length);
        if (_holders.TryGetValue(holder, out var existing))
        {
            if (existing.Until < until)
            {
                existing.Until = until;
            }
            return length;
        }
        if (_holders.Count >= _pruneAt || (_holders.Count >= _maxHolders && now >= _noneEndsBefore))
        {
            Prune(now);
        }
        if (_holders.Count >= _maxHolders)
        {
            // Full: never grant a lease the ledger could not revoke; this holder asks every time instead.
            return TimeSpan.Zero;
        }
        _holders[holder] = new Holder { Until = until };
        if (until < _noneEndsBefore)
        {
            _noneEndsBefore = until;
        }
        return length;
    }

    /// <summary>
    /// Tells every holder whose lease may still run to drop it, and returns once each has confirmed or
    /// its lease has run out (and any grace period after activation has passed).
    /// </summary>
    public Task RevokeAllAsync(IGrainFactory grains, ILogger logger) =>
        RevokeAllAsync(holder => grains.GetGrain<ILeaseHolderGrain>(holder).InvalidateLeasesAsync(), logger);

    /// <summary>As <see cref="RevokeAllAsync(IGrainFactory, ILogger)"/>, telling each holder through <paramref name="invalidate"/>.</summary>
    public async Task RevokeAllAsync(Func<GrainId, Task> invalidate, ILogger logger)
    {
        var now = _clock.GetTimestamp();
        var started = now;
        List<Task>? telling = null;
        foreach (var (id, holder) in _holders.ToArray())
        {
            if (holder.Until <= now)
            {
                // Run out, unless it is still being told (then that telling is waited for below).
                if (holder.Telling is null)
                {
                    _holders.Remove(id);
                }
                continue;
            }
            // A telling already in flight covers this lease if it was started for it (or a later one);
            // a lease granted or extended since then needs a telling of its own.
            if (holder.Telling is null || holder.TellingUntil < holder.Until)
            {
                holder.TellingUntil = holder.Until;
                holder.Telling = TellAsync(invalidate, logger, id, holder, holder.Until);
            }
            (telling ??= []).Add(holder.Telling);
        }
        if (telling is not null)
        {
            await Task.WhenAll(telling);
        }
        await OutwaitAsync(_graceEndsAt);
        GrantSilo.Grains.Diagnostics.GrantSiloMetrics.LeaseRevocationWait.Record(_clock.GetElapsedTime(started).TotalSeconds);
    }

    // Tells one holder (or outwaits its lease), then forgets it unless it was granted a newer lease meanwhile.
    private async Task TellAsync(Func<GrainId, Task> invalidate, ILogger logger, GrainId id, Holder holder, long until)
    {
        try
        {
            await RevokeOneAsync(invalidate, logger, id, until);
        }
        finally
        {
            if (holder.TellingUntil == until)
            {
                holder.Telling = null;
            }
            if (holder.Until <= until && holder.Telling is null && _holders.TryGetValue(id, out var current) && ReferenceEquals(current, holder))
            {
                _holders.Remove(id);
            }
        }
    }

    private async Task RevokeOneAsync(Func<GrainId, Task> invalidate, ILogger logger, GrainId holder, long until)
    {
        var remaining = until - _clock.GetTimestamp();
        if (remaining > 0)
        {
            try
            {
                var told = invalidate(holder);
                // Waits no longer than the lease (plus the margin) could still run.
                await told.WaitAsync(FromTicks(remaining) + Margin, _clock);
                return;
            }
            catch (Exception exception)
            {
                LeaseLog.HolderUnreachable(logger, exception, holder.ToString());
            }
        }
        // Unreachable (or too slow): its lease ends by itself.
        await OutwaitAsync(until);
    }

    /// <summary>
    /// Returns once the lease clock reads past <paramref name="deadline"/> plus the margin. The clock is
    /// read again after every wait: a timer that fires early never ends the wait.
    /// </summary>
    private async Task OutwaitAsync(long deadline)
    {
        if (deadline == 0)
        {
            return;
        }
        var end = deadline + ToTicks(Margin);
        for (var now = _clock.GetTimestamp(); now < end; now = _clock.GetTimestamp())
        {
            await Task.Delay(FromTicks(end - now), _clock);
            if (_clock.GetTimestamp() == now)
            {
                // The timer fired before any time passed: give the clock a chance to move before waiting again.
                await Task.Yield();
            }
        }
    }

    /// <summary>How many holders pruning has visited, in all (for tests: amortized, about one per grant).</summary>
    internal long PruneVisits { get; private set; }

    private void Prune(long now)
    {
        List<GrainId>? over = null;
        var earliest = long.MaxValue;
        foreach (var (id, holder) in _holders)
        {
            if (holder.Until <= now && holder.Telling is null)
            {
                (over ??= []).Add(id);
            }
            else if (holder.Until > now && holder.Until < earliest)
            {
                // Being told or not: a running lease may be prunable once it ends (a telling that finished first
                // removes its holder itself).
                earliest = holder.Until;
            }
        }
        PruneVisits += _holders.Count;
        foreach (var id in over ?? [])
        {
            _holders.Remove(id);
        }
        _pruneAt = Math.Max(MinPruneAt, 2 * _holders.Count);
        _noneEndsBefore = earliest;
    }

    private long ToTicks(TimeSpan span) => (long)Math.Ceiling(span.TotalSeconds * _clock.TimestampFrequency);

    private TimeSpan FromTicks(long ticks) => TimeSpan.FromSeconds((double)ticks / _clock.TimestampFrequency);

    // One holder's lease, and the telling in flight for it (if any).
    private sealed class Holder
    {
        public long Until;
        public Task? Telling;
        public long TellingUntil;
    }
}

/// <summary>The holder side: one leased answer and when its lease ends on the lease clock.</summary>
internal readonly record struct Leased<T>(T Value, long Until)
{
    public bool IsValid(TimeProvider clock) => clock.GetTimestamp() < Until;

    /// <summary>How much of the lease is left now (zero once it has run out).</summary>
    public TimeSpan Remaining(TimeProvider clock) => clock.GetElapsedTime(clock.GetTimestamp(), Until) is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;

    /// <summary>Whether the lease still runs at <paramref name="timestamp"/>, read from the lease clock.</summary>
    public bool IsValidAt(long timestamp) => timestamp < Until;

    /// <summary>A lease of <paramref name="length"/> counted from <paramref name="askedAt"/>, the moment before the request was sent.</summary>
    public static Leased<T>? From(T value, TimeSpan length, long askedAt, TimeProvider clock) =>
        length > TimeSpan.Zero ? new Leased<T>(value, askedAt + (long)(length.TotalSeconds * clock.TimestampFrequency)) : null;
}

internal static partial class LeaseLog
{
    [LoggerMessage(EventId = (int)Diagnostics.LogEvents.LeaseHolderUnreachable, Level = LogLevel.Warning, Message = "Lease holder {Holder} could not be told to drop its lease; waiting for the lease to run out")]
    public static partial void HolderUnreachable(ILogger logger, Exception exception, string holder);
}
