namespace GrantSilo.Grains.Lifecycle;

/// <summary>
/// One write for many changes that may be lost to a crash without harm: removals from an index whose stale entries
/// name objects that have already ended durably (a session's ended credentials, an agent's ended tasks). Ending each
/// again is a no-op, and the owner's quota drops what has ended (until then, it counts in the owner's live figures).
/// A tree of <c>n</c> tasks ending under one agent or through one session then writes that index a few times, not
/// <c>n</c> times, each write costing the whole index.
/// </summary>
/// <remarks>
/// A request arms a one-shot grain timer that does not interleave, so the write runs in a turn of its own after the
/// calls queued meanwhile; the grain's deactivation writes what is still owed. A write that fails reads the index
/// back (<see cref="DurableState{TState}"/>): the removals it carried come back as stale entries.
/// </remarks>
internal sealed class DeferredWrite
{
    /// <summary>How long changes gather before they are written.</summary>
    internal static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(100);

    private readonly IGrainBase _grain;
    private readonly Func<Task> _write;
    private IGrainTimer? _timer;

    // write: Writes the index as it is in memory (its own result is not needed: see the remarks).
    public DeferredWrite(IGrainBase grain, string name, Func<Task> write)
    {
        _grain = grain;
        _write = write;
        grain.GrainContext.ObservableLifecycle.Subscribe(name, GrainLifecycleStage.Activate, _ => Task.CompletedTask, _ => FlushAsync());
    }

    /// <summary>Owes a write: made within <see cref="Delay"/>, or as the activation stops.</summary>
    public void Request() =>
        _timer ??= _grain.RegisterGrainTimer(
            static (self, _) => self.FlushAsync(),
            this,
            new GrainTimerCreationOptions(Delay, Timeout.InfiniteTimeSpan) { Interleave = false });

    /// <summary>Makes the owed write now, if one is owed.</summary>
    public Task FlushAsync()
    {
        if (_timer is null)
        {
            return Task.CompletedTask;
        }
        _timer.Dispose();
        _timer = null;
        return _write();
    }
}
