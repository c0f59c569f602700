namespace GrantSilo.Grains.Indexes;

/// <summary>
/// When an owner at its quota asks the entries of one index whether they have ended (<see cref="Compaction"/>). Each
/// such pass is a call per entry (up to the quota), so a caller refused at the quota must not cause one per attempt.
/// </summary>
/// <remarks>
/// A pass is owed at once when the index may list entries whose ends never reached it: after loading from storage (a
/// removal lost with an earlier activation) or after a write that failed (read back, it may list again what was
/// removed). Otherwise it is due once per <c>interval</c>, which also catches a one-way note lost while the owner
/// stayed active.
/// </remarks>
internal sealed class CompactionSchedule
{
    private bool _owed = true;
    private DateTimeOffset _last = DateTimeOffset.MinValue;

    /// <summary>Whether a pass should run now.</summary>
    public bool Due(DateTimeOffset now, TimeSpan interval) => _owed || now - _last >= interval;

    /// <summary>The index may list entries that ended (it was read back after a failed write).</summary>
    public void Owe() => _owed = true;

    /// <summary>A pass ran at <paramref name="now"/>.</summary>
    public void Ran(DateTimeOffset now)
    {
        _owed = false;
        _last = now;
    }
}
