namespace GrantSilo.Grains.Leases;

/// <summary>
/// The holder side of decision leases, for a grain that relies on other grains' answers (a credential on
/// its task chain and session, a task on its ancestors and their agents). Each answer is kept in a
/// <see cref="HeldAnswer{T}"/> while its lease runs. An invalidation (a source taking its answer back)
/// drops every held answer at once and moves the <see cref="Epoch"/>, so an answer that was on its way
/// while the invalidation arrived is never kept, and a decision that spanned one is made again.
/// </summary>
internal sealed class LeaseHolderCache(TimeProvider leaseClock)
{
    /// <summary>How many times an answer overtaken by an invalidation is asked for again before failing closed.</summary>
    internal const int MaxAttempts = 3;

    private readonly List<Action> _drops = [];
    private long _epoch;

    /// <summary>Moves on every invalidation: a decision that read it before awaiting and finds it moved must not allow on what it had.</summary>
    public long Epoch => _epoch;

    /// <summary>A slot for one kind of answer, dropped with every invalidation.</summary>
    public HeldAnswer<T> Hold<T>()
    {
        var held = new HeldAnswer<T>(leaseClock);
        _drops.Add(held.Drop);
        return held;
    }

    /// <summary>A source took its answer back: drop everything held.</summary>
    public void Invalidate()
    {
        _epoch++;
        foreach (var drop in _drops)
        {
            drop();
        }
    }

    /// <summary>
    /// Runs <paramref name="ask"/> (which may answer from held leases and ask the sources for the rest)
    /// until an answer arrives that no invalidation overtook, then lets <paramref name="keep"/> hold it,
    /// counting its leases from the lease-clock instant the asking began. False after
    /// <see cref="MaxAttempts"/> overtaken answers: the caller fails closed.
    /// </summary>
    public async ValueTask<(bool Answered, T Answer)> AskAsync<T>(Func<ValueTask<T>> ask, Action<T, long> keep)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var epoch = _epoch;
            var askedAt = leaseClock.GetTimestamp();
            var answer = await ask();
            if (epoch != _epoch)
            {
                continue;
            }
            keep(answer, askedAt);
            return (true, answer);
        }
        return (false, default!);
    }
}

/// <summary>One held answer and when its lease ends on the lease clock.</summary>
internal sealed class HeldAnswer<T>(TimeProvider leaseClock)
{
    private Leased<T>? _lease;

    /// <summary>The held answer if its lease still runs at <paramref name="leaseNow"/> (the caller checks what else it needs of it).</summary>
    public bool TryGet(long leaseNow, out T value)
    {
        if (_lease is { } lease && lease.IsValidAt(leaseNow))
        {
            value = lease.Value;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>Holds <paramref name="value"/> for <paramref name="lease"/> from <paramref name="askedAt"/>; a zero lease holds nothing.</summary>
    public void Keep(T value, TimeSpan lease, long askedAt) => _lease = Leased<T>.From(value, lease, askedAt, leaseClock);

    /// <summary>How much of the held lease is left now (zero when nothing is held or it ran out).</summary>
    public TimeSpan Remaining() => _lease is { } lease ? lease.Remaining(leaseClock) : TimeSpan.Zero;

    public void Drop() => _lease = null;
}
